using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Xml.Linq;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.PowerShell.Tests.HelpExamples;

/// <summary>
/// Every example in the help runs, as users read it, against the in-process emulator, and every parameter of every
/// cmdlet is used by an example that ran.
/// <para>What the test prepares (the world a reader's examples assume), never editing an example's text but for one
/// placeholder: the emulator's address as the help writes it, <see cref="EmulatorAddress"/> (the project's emulator
/// started with --port 4566), becomes the test emulator's address.</para>
/// <list type="bullet">
/// <item>The emulator holds the snapshots, volumes and instances the examples name, with those ids
/// (<see cref="SeedRequest.Ids"/>), tagged as the examples filter (Backup=yes, Backup=daily), in an account per profile
/// (default and backup, prod, vault).</item>
/// <item>AWS Tools is set up as a user's session has it: $StoredAWSCredentials and $StoredAWSRegion (us-east-1), and
/// AWS Tools-shaped stand-ins of Get-EC2Snapshot, Get-EC2Volume, Get-AWSCredential and Set-DefaultAWSRegion
/// (<see cref="AwsToolsStandIns"/>).</item>
/// <item>The current location holds ./snapshots.txt (two snapshot ids) and ./credentials (the profiles); a profile
/// named without -ProfileLocation is read from that file ($PSDefaultParameterValues stands in for ~/.aws/credentials,
/// which the test process points at an empty file), and the module's cmdlets reach the emulator through
/// $PSDefaultParameterValues' -EndpointUrl (as AWS_ENDPOINT_URL would, without touching the process).</item>
/// <item>Set-StrictMode -Version Latest: a property an example reads that the objects do not have is an error.</item>
/// </list>
/// </summary>
public sealed class HelpExampleTests
{
    public const string EmulatorAddress = "http://127.0.0.1:4566";

    private const string DefaultKey = "AKIDEXAMPLEDEFAULT";
    private const string BackupKey = "AKIDEXAMPLEBACKUP";
    private const string ProdKey = "AKIDEXAMPLEPROD";
    private const string VaultKey = "AKIDEXAMPLEVAULT";
    private const string Prod = "111111111111";
    private const string Vault = "222222222222";

    public sealed record Example(string Cmdlet, int Number, string Title, string Code);

    public static IReadOnlyList<Example> Examples()
    {
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        XNamespace maml = "http://schemas.microsoft.com/maml/2004/10";
        XNamespace dev = "http://schemas.microsoft.com/maml/dev/2004/10";
        var list = new List<Example>();
        foreach (var c in XDocument.Load(HelpDriftTests.MamlPath).Root!.Elements(command + "command"))
        {
            var name = c.Element(command + "details")!.Element(command + "name")!.Value.Trim();
            var n = 0;
            foreach (var e in c.Descendants(command + "example"))
                list.Add(new Example(name, ++n, e.Element(maml + "title")!.Value.Trim('-', ' '), e.Element(dev + "code")!.Value));
        }
        return list;
    }

    /// <summary>The examples of one cmdlet (a test class per cmdlet, so xunit runs the four sets in parallel).</summary>
    public static TheoryData<int> ExampleNumbers(string cmdlet)
    {
        var data = new TheoryData<int>();
        foreach (var e in Examples().Where(e => e.Cmdlet == cmdlet)) data.Add(e.Number);
        return data;
    }

    /// <summary>What some examples say they output, checked on what they wrote (output objects in order, and EC2's truth).</summary>
    private static readonly Dictionary<(string, int), Action<Collection<PSObject>, Ec2Emulator>> Says = new()
    {
        [("Copy-AvSnapshot", 1)] = (o, _) =>
        {
            Assert.Equal(2, o.Count);
            Assert.All(o, r => { Assert.Equal("Completed", r.Properties["State"].Value.ToString()); Assert.True((bool)r.Properties["Encrypted"].Value); Assert.Equal("us-west-2", r.Properties["Region"].Value); });
        },
        [("Copy-AvSnapshot", 4)] = (o, _) => Assert.Equal(2, o.Count(x => x.BaseObject is string s && s.StartsWith("snap-", StringComparison.Ordinal))),
        [("Copy-AvSnapshot", 12)] = (o, emulator) =>
        {
            Assert.Equal([false, false, true, true, false, false], o.Select(r => (bool)r.Properties["Reused"].Value));
            Assert.Equal(4, emulator.GetStats().CopiesPerSource.Values.Sum(d => d.GetValueOrDefault("us-west-2")));
        },
        [("Measure-AvSnapshotCopy", 5)] = (o, _) => Assert.Equal([2, 0], o.Where(x => x.BaseObject is int).Select(x => (int)x.BaseObject)),
        [("Wait-AvSnapshot", 3)] = (o, _) => Assert.Single(o),
    };

    /// <summary>Examples whose commands write nothing to the output when all is well.</summary>
    private static readonly HashSet<(string, int)> Silent = new() { ("Copy-AvSnapshot", 3), ("New-AvSnapshot", 4), ("Wait-AvSnapshot", 4) };

    [Fact]
    public void EveryExample_IsRunByATestClass()
    {
        Assert.Equal(HelpDriftTests.CmdletNames.Order(StringComparer.Ordinal), Examples().Select(e => e.Cmdlet).Distinct().Order(StringComparer.Ordinal));
        Assert.All(HelpDriftTests.CmdletNames, c => Assert.NotEmpty(ExampleNumbers(c)));
    }

    internal static async Task RunAsync(string cmdlet, int number)
    {
        var example = Examples().Single(e => e.Cmdlet == cmdlet && e.Number == number);
        await using var world = await World.StartAsync();
        var code = example.Code.Replace(EmulatorAddress, world.Url.TrimEnd('/'), StringComparison.Ordinal);

        using var ps = world.Host.Create("Set-StrictMode -Version Latest\n" + code);
        Collection<PSObject> output;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException e)
        {
            throw new Xunit.Sdk.XunitException($"{cmdlet} example {number} ({example.Title}) stopped: {e.ErrorRecord}\n{code}");
        }
        var errors = ps.Streams.Error.Select(e => $"{e.FullyQualifiedErrorId}: {e}").ToList();
        Assert.True(errors.Count == 0, $"{cmdlet} example {number} ({example.Title}) wrote errors:\n{string.Join("\n", errors)}\n{code}");
        if (!Silent.Contains((cmdlet, number))) Assert.NotEmpty(output);
        if (Says.TryGetValue((cmdlet, number), out var check)) check(output, world.Emulator);
    }

    [Fact]
    public void EveryParameter_IsUsedByAnExample()
    {
        using var host = new PowerShellHost(configure: AwsToolsStandIns.AddTo);
        var used = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var example in Examples())
        {
            // The parser and PowerShell's static binder (names, aliases, positions); splatted hashtable literals assigned
            // in the same example count with their keys.
            var bound = host.Run(@"
                $ast = [System.Management.Automation.Language.Parser]::ParseInput($args[0], [ref] $null, [ref] $null)
                $splats = @{}
                foreach ($a in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.AssignmentStatementAst] }, $true)) {
                    $h = $a.Right.Find({ $args[0] -is [System.Management.Automation.Language.HashtableAst] }, $true)
                    if ($a.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and $h) {
                        $splats[$a.Left.VariablePath.UserPath] = @($h.KeyValuePairs | ForEach-Object { $_.Item1.Value })
                    }
                }
                foreach ($c in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true)) {
                    $name = $c.GetCommandName()
                    if ($name -notlike '*-Av*') { continue }
                    $command = Get-Command -Name $name
                    $binding = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($c, $true)
                    foreach ($p in $binding.BoundParameters.Keys) { ""$name|$p"" }
                    # -Confirm:$false and the like, by name or alias, also where the static binder leaves them out.
                    foreach ($e in $c.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] }) {
                        $p = $command.Parameters.Values | Where-Object { $_.Name -eq $e.ParameterName -or $_.Aliases -contains $e.ParameterName }
                        if ($p) { ""$name|$($p.Name)"" }
                    }
                    foreach ($v in $c.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.VariableExpressionAst] -and $_.Splatted }) {
                        foreach ($key in $splats[$v.VariablePath.UserPath]) {
                            $p = $command.Parameters.Values | Where-Object { $_.Name -eq $key -or $_.Aliases -contains $key }
                            ""$name|$($p.Name)""
                        }
                    }
                }", example.Code);
            foreach (var pair in bound.Select(o => o.ToString().Split('|')))
            {
                if (!used.TryGetValue(pair[0], out var set)) used[pair[0]] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(pair[1]);
            }
        }

        var missing = new List<string>();
        foreach (var cmdlet in HelpDriftTests.CmdletNames)
        {
            var parameters = host.Run(@"
                $common = [System.Management.Automation.Cmdlet]::CommonParameters
                (Get-Command -Name $args[0]).Parameters.Values |
                    Where-Object { $common -notcontains $_.Name -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) } |
                    ForEach-Object Name", cmdlet).Select(o => o.ToString()).ToList();
            Assert.True(parameters.Count > 10, $"{cmdlet}: only {parameters.Count} parameters read");
            foreach (var parameter in parameters)
            {
                if (NotInExamples.ContainsKey((cmdlet, parameter))) continue;
                if (!(used.TryGetValue(cmdlet, out var set) && set.Contains(parameter))) missing.Add($"{cmdlet} -{parameter}");
            }
        }
        Assert.True(missing.Count == 0, "Parameters no help example uses:\n" + string.Join("\n", missing));
    }

    /// <summary>Parameters no example can use because they only stop the command, and why. Each is checked to do so.</summary>
    private static readonly Dictionary<(string, string), string> NotInExamples = new()
    {
        [("Measure-AvSnapshotCopy", "DryRun")] = "a plan makes no copies: it stops the command with PlanIsReadOnly (Copy-AvSnapshot's parameters, shared)",
        [("Measure-AvSnapshotCopy", "NoWait")] = "a plan makes no copies: it stops the command with PlanIsReadOnly (Copy-AvSnapshot's parameters, shared)",
    };

    [Fact]
    public void TheParametersNoExampleUses_OnlyStopTheCommand()
    {
        using var host = new PowerShellHost();
        foreach (var ((cmdlet, parameter), _) in NotInExamples)
        {
            using var ps = host.Create($"{cmdlet} snap-0123456789abcdef0 -SourceRegion us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -{parameter}");
            Assert.Empty(ps.Invoke());
            Assert.StartsWith("PlanIsReadOnly,", Assert.Single(ps.Streams.Error).FullyQualifiedErrorId, StringComparison.Ordinal);
        }
    }

    /// <summary>The emulator, seeded with what the examples name, and a runspace set up as a user's AWS Tools session.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly string _folder;

        private World(Ec2Emulator emulator, PowerShellHost host, string folder)
        {
            Emulator = emulator;
            Host = host;
            _folder = folder;
        }

        public Ec2Emulator Emulator { get; }
        public PowerShellHost Host { get; }
        public string Url => Emulator.BaseUrl.ToString();

        public static async Task<World> StartAsync()
        {
            var options = new EmulatorOptions();
            options.Accounts[ProdKey] = Prod;
            options.Accounts[VaultKey] = Vault;
            options.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 0.1 };
            options.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = 0.1 };
            var emulator = await Ec2Emulator.StartAsync(options);
            Seed(emulator);

            var folder = Directory.CreateTempSubdirectory("avtomat-help-examples-").FullName;
            var credentials = Path.Combine(folder, "credentials");
            File.WriteAllText(credentials,
                $"[default]\naws_access_key_id = {DefaultKey}\naws_secret_access_key = default-secret\n\n" +
                $"[backup]\naws_access_key_id = {BackupKey}\naws_secret_access_key = backup-secret\naws_session_token = backup-session-token\n\n" +
                $"[prod]\naws_access_key_id = {ProdKey}\naws_secret_access_key = prod-secret\n\n" +
                $"[vault]\naws_access_key_id = {VaultKey}\naws_secret_access_key = vault-secret\n");
            File.WriteAllLines(Path.Combine(folder, "snapshots.txt"), ["snap-0123456789abcdef0", "snap-0fedcba9876543210"]);

            var host = new PowerShellHost(configure: AwsToolsStandIns.AddTo);
            var runspace = (Runspace)host.Run("[runspace]::DefaultRunspace").Single().BaseObject;
            Avtomat.Ec2.Commands.EngineTuning.SetPollInterval(runspace, TimeSpan.FromMilliseconds(50));
            host.Run(@"
                param($url, $folder, $credentials, $stored)
                Set-Location -LiteralPath $folder
                $global:AvExampleEndpoint = $url
                $global:AvExampleProfileFile = $credentials
                $global:StoredAWSCredentials = $stored
                $global:StoredAWSRegion = 'us-east-1'
                $global:PSDefaultParameterValues['*-Av*:EndpointUrl'] = $url
                $global:PSDefaultParameterValues['*-Av*:ProfileLocation'] = {
                    if (@($args[0].BoundParameters) -contains 'ProfileName' -or @($args[0].BoundParameters) -contains 'DestinationProfileName') { $global:AvExampleProfileFile }
                }",
                emulator.BaseUrl.ToString(), folder, credentials, new BasicAWSCredentials(DefaultKey, "default-secret"));
            return new World(emulator, host, folder);
        }

        private static void Seed(Ec2Emulator emulator)
        {
            var yes = new Dictionary<string, string> { ["Backup"] = "yes" };
            var daily = new Dictionary<string, string> { ["Backup"] = "daily" };
            emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 2, Ids = ["snap-0123456789abcdef0", "snap-0fedcba9876543210"], Tags = yes, Description = "Nightly backup" });
            emulator.Seed(new SeedRequest { Region = "us-east-1", Volumes = 3, Ids = ["vol-0123456789abcdef0", "vol-0fedcba9876543210", "vol-12345678"], Tags = daily, NamePrefix = "web" });
            emulator.Seed(new SeedRequest { Region = "us-east-1", Instances = 1, DataVolumesPerInstance = 2, Ids = ["i-0123456789abcdef0"], NamePrefix = "db" });
            emulator.Seed(new SeedRequest { Region = "us-east-1", Volumes = 1, Ids = ["vol-0e1f2a3b4c5d60718"] });
            emulator.Seed(new SeedRequest { Region = "us-east-1", Instances = 1, Ids = ["i-0f1e2d3c4b5a69788"] });
            emulator.Seed(new SeedRequest { Region = "eu-west-1", Snapshots = 1, Ids = ["snap-12345678"] });
            emulator.Seed(new SeedRequest { Region = "eu-west-1", Snapshots = 2, Ids = ["snap-0a1b2c3d4e5f60718", "snap-0b2c3d4e5f6071829"], Tags = daily, State = "pending", DurationSeconds = 1 });
            emulator.Seed(new SeedRequest { Region = "eu-west-1", Volumes = 1, Ids = ["vol-87654321"] });
            emulator.Seed(new SeedRequest { Region = "eu-central-1", Volumes = 1, Ids = ["vol-0c1d2e3f4a5b60718"], NamePrefix = "app" });
            emulator.Seed(new SeedRequest { Region = "us-east-1", AccountId = Prod, Snapshots = 1, Ids = ["snap-0aa11bb22cc33dd44"], Tags = yes });
            emulator.Seed(new SeedRequest { Region = "us-east-1", AccountId = Prod, Volumes = 1, Ids = ["vol-0aa11bb22cc33dd44"] });
        }

        public async ValueTask DisposeAsync()
        {
            Host.Dispose();
            await Emulator.DisposeAsync();
            try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        }
    }
}

public sealed class CopyAvSnapshotHelpExamples
{
    [Theory]
    [MemberData(nameof(HelpExampleTests.ExampleNumbers), "Copy-AvSnapshot", MemberType = typeof(HelpExampleTests))]
    public Task Example_RunsAgainstTheEmulator(int number) => HelpExampleTests.RunAsync("Copy-AvSnapshot", number);
}

public sealed class MeasureAvSnapshotCopyHelpExamples
{
    [Theory]
    [MemberData(nameof(HelpExampleTests.ExampleNumbers), "Measure-AvSnapshotCopy", MemberType = typeof(HelpExampleTests))]
    public Task Example_RunsAgainstTheEmulator(int number) => HelpExampleTests.RunAsync("Measure-AvSnapshotCopy", number);
}

public sealed class NewAvSnapshotHelpExamples
{
    [Theory]
    [MemberData(nameof(HelpExampleTests.ExampleNumbers), "New-AvSnapshot", MemberType = typeof(HelpExampleTests))]
    public Task Example_RunsAgainstTheEmulator(int number) => HelpExampleTests.RunAsync("New-AvSnapshot", number);
}

public sealed class WaitAvSnapshotHelpExamples
{
    [Theory]
    [MemberData(nameof(HelpExampleTests.ExampleNumbers), "Wait-AvSnapshot", MemberType = typeof(HelpExampleTests))]
    public Task Example_RunsAgainstTheEmulator(int number) => HelpExampleTests.RunAsync("Wait-AvSnapshot", number);
}
