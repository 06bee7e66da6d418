// The README's main-job command, end to end with no AWS account and no pwsh:
//   1. the EC2 emulator in-process, ~200 snapshots in us-east-1 tagged Backup=yes, realistic but scaled copy durations;
//   2. a real PowerShell engine (System.Management.Automation) imports the built module from its psd1 and runs
//      `$snapshots | Copy-AvSnapshot -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted -CopyTags ...`;
//   3. the cmdlet's progress records become live bars (or a plain line every few seconds when output is redirected);
//   4. a result table, the makespan against its lower bound, and the API calls the emulator counted.
// Exit code 0 only if every snapshot was copied exactly once.
//
// Usage: dotnet run --project samples/Avtomat.Ec2.Demo [-- --count N] [--quick] [--no-progress] [--verbose]

using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Avtomat.Ec2.Demo;
using Avtomat.Ec2.Emulator;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var settings = DemoSettings.Parse(args);
if (settings is null) return 2;

// No instance-metadata lookups from the SDK (no EC2 instance here; the lookup would only add delays).
Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

const string SourceRegion = "us-east-1";
const string DestinationRegion = "us-west-2";
const int Ec2PendingCopyLimit = 20;
const string AccessKey = "AKIDDEMO0000EXAMPLE";
const string SecretKey = "demo-secret-key-not-a-real-one";

var interactive = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
if (interactive) Console.OutputEncoding = Encoding.UTF8;
var wallClock = Stopwatch.StartNew();

// ---- 1. The emulator ----------------------------------------------------------------------------------------------
var options = new EmulatorOptions { Port = 0 };
var copy = options.Config.Durations.Copy;
copy.Kind = DurationKind.LogNormal;
// Real cross-region copies of a 100 GiB snapshot take tens of minutes; here the median same-region copy of 100 GiB
// takes 2.5 s (linear in the volume size), cross-region copies 1.5× that, with log-normal spread. --quick divides by 4.
copy.Seconds = settings.Quick ? 0.6 : 2.5;
copy.Sigma = 0.3;
copy.ReferenceSizeGiB = 100;
options.Config.Durations.CrossRegionFactor = 1.5;

await using var emulator = await Ec2Emulator.StartAsync(options);
var endpoint = emulator.BaseUrl.ToString();

var sizes = DemoSettings.VolumeSizes(settings.Count, seed: 42);
var seeded = emulator.Seed(new SeedRequest
{
    Region = SourceRegion,
    Snapshots = settings.Count,
    SizesGiB = sizes,
    Tags = new() { ["Backup"] = "yes", ["Team"] = "platform" },
    Description = "Nightly backup",
});
var sizeOf = seeded.SnapshotIds.Zip(sizes).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

Console.WriteLine($"EC2 emulator at {endpoint}: {seeded.SnapshotIds.Count} snapshots in {SourceRegion} tagged Backup=yes, "
    + $"{sizes.Min()}–{sizes.Max()} GiB ({sizes.Sum() / 1024.0:0.0} TiB in all)");

// Objects shaped like Get-EC2Snapshot output (Amazon.EC2.Model.Snapshot): what a user pipes in.
var snapshots = seeded.SnapshotIds.Select(id =>
{
    var o = new PSObject();
    o.Properties.Add(new PSNoteProperty("SnapshotId", id));
    o.Properties.Add(new PSNoteProperty("VolumeSize", sizeOf[id]));
    o.Properties.Add(new PSNoteProperty("State", "completed"));
    o.Properties.Add(new PSNoteProperty("Progress", "100%"));
    o.Properties.Add(new PSNoteProperty("Encrypted", false));
    o.Properties.Add(new PSNoteProperty("OwnerId", options.DefaultAccountId));
    o.Properties.Add(new PSNoteProperty("Description", "Nightly backup"));
    o.Properties.Add(new PSNoteProperty("Tags", new[] { Tag("Backup", "yes"), Tag("Team", "platform") }));
    return o;
}).ToArray();

// ---- 2. PowerShell ----------------------------------------------------------------------------------------------------
var manifest = typeof(DemoSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .Single(a => a.Key == "ModuleManifestPath").Value!;
if (!File.Exists(manifest))
{
    Console.Error.WriteLine($"demo: the module manifest {manifest} does not exist; run `dotnet build` first.");
    return 1;
}

using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
runspace.Open();
using (var import = PowerShell.Create())
{
    import.Runspace = runspace;
    import.AddScript("Import-Module -Name $args[0] -ErrorAction Stop; Get-Command -Module Avtomat.Ec2 -Name Copy-AvSnapshot -ErrorAction Stop")
        .AddArgument(manifest);
    try { import.Invoke(); }
    catch (RuntimeException e)
    {
        Console.Error.WriteLine($"demo: cannot import the module or find Copy-AvSnapshot: {e.Message}");
        return 1;
    }
}
runspace.SessionStateProxy.SetVariable("snapshots", snapshots);
runspace.SessionStateProxy.SetVariable("endpoint", endpoint);
runspace.SessionStateProxy.SetVariable("accessKey", AccessKey);
runspace.SessionStateProxy.SetVariable("secretKey", SecretKey);

var command = $"$snapshots | Copy-AvSnapshot -SourceRegion {SourceRegion} -DestinationRegion {DestinationRegion} "
    + "-Encrypted -CopyTags -EndpointUrl $endpoint -AccessKey $accessKey -SecretKey $secretKey -Verbose";
Console.WriteLine($"PS> {command}");
Console.WriteLine();

using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddScript(command);

var results = new PSDataCollection<PSObject>();
var view = new LiveProgress(interactive && !settings.NoProgress, settings.NoProgress, settings.Verbose);
results.DataAdded += (_, e) => view.ResultWritten();
ps.Streams.Progress.DataAdded += (_, e) => view.Progress(ps.Streams.Progress[e.Index]);
ps.Streams.Verbose.DataAdded += (_, e) => view.Verbose(ps.Streams.Verbose[e.Index].Message);
ps.Streams.Warning.DataAdded += (_, e) => view.Message("WARNING: " + ps.Streams.Warning[e.Index].Message);
ps.Streams.Error.DataAdded += (_, e) => view.Message("ERROR: " + ps.Streams.Error[e.Index]);

// Ctrl+C or SIGTERM stops the pipeline (copies EC2 already accepted keep running; their ids are in the verbose output);
// a second one ends the demo at once. Registered here rather than with Console.CancelKeyPress so that SIGTERM is covered
// too: the emulator's web host would otherwise take SIGTERM for itself and leave the demo waiting.
var stopping = 0;
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    if (Interlocked.Exchange(ref stopping, 1) == 1)
    {
        if (interactive) Console.Write("\u001b[?25h");
        Environment.Exit(130);
    }
    view.Message($"{context.Signal}: stopping the pipeline…");
    ps.BeginStop(null, null);
}
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

var pipelineClock = Stopwatch.StartNew();
Exception? failure = null;
view.Start();
try
{
    await Task.Factory.FromAsync(ps.BeginInvoke<PSObject, PSObject>(null, results), ps.EndInvoke);
}
catch (Exception e) when (e is RuntimeException or PipelineStoppedException or InvalidOperationException)
{
    failure = e;
}
finally
{
    pipelineClock.Stop();
    view.Finish();
}

// ---- 4. Results -----------------------------------------------------------------------------------------------------
var rows = results.Select(CopyRow.From).ToList();
var stats = emulator.GetStats();
Console.WriteLine();
Report.Table(rows, sizeOf, maxRows: 10);
Console.WriteLine();

var problems = new List<string>();
if (failure is PipelineStoppedException) problems.Add("the pipeline was stopped");
else if (failure is not null) problems.Add($"the pipeline ended with {failure.GetType().Name}: {failure.Message}");
if (ps.Streams.Error.Count > 0) problems.Add($"{ps.Streams.Error.Count} error record(s) were written");
if (rows.Count != settings.Count) problems.Add($"{rows.Count} results for {settings.Count} snapshots");
var notCompleted = rows.Count(r => r.State != "Completed");
if (notCompleted > 0) problems.Add($"{notCompleted} result(s) not Completed");
var missing = seeded.SnapshotIds.Except(rows.Select(r => r.SourceSnapshotId), StringComparer.Ordinal).Count();
if (missing > 0) problems.Add($"{missing} snapshot(s) have no result");
var duplicateIds = rows.Where(r => r.SnapshotId is not null).GroupBy(r => r.SnapshotId).Count(g => g.Count() > 1);
if (duplicateIds > 0) problems.Add($"{duplicateIds} copy id(s) reported more than once");

Report.Makespan(rows, Ec2PendingCopyLimit);

// API calls, as the emulator counted them (every call the SDK sent, retries included).
long CallsTo(string action) => stats.Calls.Values.Sum(perAction => perAction.GetValueOrDefault(action));
var copyCalls = CallsTo("CopySnapshot");
var describeCalls = CallsTo("DescribeSnapshots");
var otherCalls = stats.TotalCalls - copyCalls - describeCalls;
Console.WriteLine($"API calls: {stats.TotalCalls} in all (CopySnapshot {copyCalls}, DescribeSnapshots {describeCalls}"
    + (otherCalls > 0 ? $", other {otherCalls}" : "") + $"), {(double)stats.TotalCalls / Math.Max(1, settings.Count):0.00} per snapshot"
    + (stats.Throttled.Count > 0 ? $"; throttled {stats.Throttled.Values.Sum(t => t.Values.Sum())}" : ""));

var maxPending = stats.MaxPendingCopies.Where(p => p.Key.EndsWith("/" + DestinationRegion, StringComparison.Ordinal))
    .Select(p => p.Value).DefaultIfEmpty(0).Max();
var copiesPerSource = stats.CopiesPerSource
    .Where(p => p.Key.StartsWith(SourceRegion + "/", StringComparison.Ordinal))
    .Select(p => p.Value.GetValueOrDefault(DestinationRegion)).ToList();
var duplicateSources = copiesPerSource.Count(n => n > 1);
Console.WriteLine($"Max pending copies in {DestinationRegion}: {maxPending} (EC2 allows {Ec2PendingCopyLimit}); "
    + "copies per source: " + (copiesPerSource.Count == 0 ? "no copies" : duplicateSources == 0 ? "all 1" : $"{duplicateSources} copied more than once")
    + $" ({copiesPerSource.Count} sources)");
if (maxPending > Ec2PendingCopyLimit) problems.Add($"{maxPending} copies were pending at once in {DestinationRegion}");
if (duplicateSources > 0) problems.Add($"{duplicateSources} source snapshot(s) were copied more than once");
if (copiesPerSource.Count != settings.Count) problems.Add($"EC2 saw copies of {copiesPerSource.Count} sources, not {settings.Count}");

Console.WriteLine($"Wall time: {pipelineClock.Elapsed.TotalSeconds:0.0} s for the pipeline, {wallClock.Elapsed.TotalSeconds:0.0} s for the demo; "
    + $"{view.VerboseCount} verbose and {view.ProgressCount} progress records");

if (problems.Count == 0)
{
    Console.WriteLine($"OK: all {settings.Count} snapshots copied to {DestinationRegion}, encrypted, each exactly once.");
    return 0;
}
Console.WriteLine("FAILED: " + string.Join("; ", problems) + ".");
foreach (var error in ps.Streams.Error.Take(5))
    Console.WriteLine($"  {error.FullyQualifiedErrorId}: {error}");
return 1;

static PSObject Tag(string key, string value)
{
    var tag = new PSObject();
    tag.Properties.Add(new PSNoteProperty("Key", key));
    tag.Properties.Add(new PSNoteProperty("Value", value));
    return tag;
}
