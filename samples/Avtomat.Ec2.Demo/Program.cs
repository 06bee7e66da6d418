// The README's commands, end to end with no AWS account and no pwsh: the EC2 emulator in-process, a real PowerShell
// engine (System.Management.Automation) that imports the built module from its psd1, live progress bars drawn from the
// cmdlets' progress records (or a plain line every few seconds when output is redirected), then results and figures.
//   Scene 1 (copy):   ~200 snapshots tagged Backup=yes,
//                     `$snapshots | Copy-AvSnapshot -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted -CopyTags`
//   Scene 2 (backup): ~60 volumes tagged Backup=daily, the one-line backup
//                     `Get-EC2Volume -Filter @{Name='tag:Backup';Values='daily'} | New-AvSnapshot -CopyVolumeTags |
//                      Copy-AvSnapshot -DestinationRegion us-west-2,eu-west-1 -Encrypted -CopyTags`
// Exit code 0 only if every scene run succeeded (every snapshot and copy made exactly once, all completed, no errors).
//
// Usage: dotnet run --project samples/Avtomat.Ec2.Demo [-- --scene copy|backup|all] [--count N] [--volumes N] [--quick]
//        [--no-progress] [--verbose]

using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Text;
using Avtomat.Ec2.Demo;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var settings = DemoSettings.Parse(args);
if (settings is null) return 2;

// No instance-metadata lookups from the SDK (no EC2 instance here; the lookup would only add delays).
Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

const string AccessKey = "AKIDDEMO0000EXAMPLE";
const string SecretKey = "demo-secret-key-not-a-real-one";

var interactive = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
if (interactive) Console.OutputEncoding = Encoding.UTF8;
var wallClock = Stopwatch.StartNew();

// ---- PowerShell: one runspace for every scene, with a host that receives progress together with its source -----------
var manifest = typeof(DemoSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .Single(a => a.Key == "ModuleManifestPath").Value!;
if (!File.Exists(manifest))
{
    Console.Error.WriteLine($"demo: the module manifest {manifest} does not exist; run `dotnet build` first.");
    return 1;
}

var host = new DemoHost();
using var runspace = RunspaceFactory.CreateRunspace(host, InitialSessionState.CreateDefault2());
runspace.Open();
var needed = new List<string>();
if (settings.Scenes.HasFlag(DemoScenes.Copy)) needed.Add("Copy-AvSnapshot");
if (settings.Scenes.HasFlag(DemoScenes.Backup)) needed.AddRange(["New-AvSnapshot", "Copy-AvSnapshot"]);
using (var import = PowerShell.Create())
{
    import.Runspace = runspace;
    import.AddScript("Import-Module -Name $args[0] -ErrorAction Stop; Get-Command -Module Avtomat.Ec2 -Name $args[1] -ErrorAction Stop")
        .AddArgument(manifest).AddArgument(needed.Distinct().ToArray());
    try { import.Invoke(); }
    catch (RuntimeException e)
    {
        Console.Error.WriteLine($"demo: cannot import the module or find {string.Join(", ", needed.Distinct())}: {e.Message}");
        return 1;
    }
}
runspace.SessionStateProxy.SetVariable("accessKey", AccessKey);
runspace.SessionStateProxy.SetVariable("secretKey", SecretKey);

using var runner = new PipelineRun(runspace, host, interactive);
var failed = new List<string>();
if (settings.Scenes.HasFlag(DemoScenes.Copy))
{
    if (settings.Scenes == DemoScenes.All) Heading("Scene 1: copy existing snapshots to another region");
    if (!await CopyScene.RunAsync(settings, runspace, runner, interactive, wallClock)) failed.Add("scene 1 (copy)");
}
if (settings.Scenes.HasFlag(DemoScenes.Backup) && !runner.Stopped)
{
    if (settings.Scenes == DemoScenes.All) Heading("Scene 2: the one-line backup, volumes → snapshots → copies in two regions");
    if (!await BackupScene.RunAsync(settings, runspace, runner, interactive, wallClock)) failed.Add("scene 2 (backup)");
}
else if (settings.Scenes.HasFlag(DemoScenes.Backup)) failed.Add("scene 2 (backup) did not run");

if (settings.Scenes == DemoScenes.All)
{
    Console.WriteLine();
    Console.WriteLine(failed.Count == 0
        ? $"Both scenes OK in {wallClock.Elapsed.TotalSeconds:0.0} s."
        : $"FAILED: {string.Join(", ", failed)} ({wallClock.Elapsed.TotalSeconds:0.0} s).");
}
return failed.Count == 0 ? 0 : 1;

static void Heading(string title)
{
    Console.WriteLine();
    Console.WriteLine("== " + title + " " + new string('=', Math.Max(3, 100 - title.Length)));
    Console.WriteLine();
}
