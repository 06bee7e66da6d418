using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>One test's world: an in-process EC2 emulator with fast, fixed durations and a runspace that imported the
/// module, with <c>$aws</c> (endpoint and credentials) and <c>$url</c> defined for splatting.</summary>
public sealed class CopyTestBed : IAsyncDisposable
{
    public const string AccessKey = "AKIDCOPYTESTS";
    public const string SecretKey = "copy-tests-secret-do-not-print";
    public const string Account = "123456789012";

    static CopyTestBed()
    {
        // No instance-metadata lookups from the SDK's default chains while resolving regions or credentials.
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    private CopyTestBed(Ec2Emulator emulator, PowerShellHost host)
    {
        Emulator = emulator;
        Host = host;
    }

    public Ec2Emulator Emulator { get; }
    public PowerShellHost Host { get; }
    public string Url => Emulator.BaseUrl.ToString();

    /// <param name="copySeconds">Fixed duration of a same-region copy (cross-region: ×1.5).</param>
    /// <param name="options">Changes the emulator's options before it starts (accounts).</param>
    public static async Task<CopyTestBed> StartAsync(double copySeconds = 0.3, Action<EmulatorConfig>? configure = null, Action<EmulatorOptions>? options = null)
    {
        var emulatorOptions = new EmulatorOptions();
        options?.Invoke(emulatorOptions);
        emulatorOptions.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds };
        emulatorOptions.Config.Durations.Snapshot = new DurationModel { Kind = DurationKind.Fixed, Seconds = copySeconds };
        configure?.Invoke(emulatorOptions.Config);
        var emulator = await Ec2Emulator.StartAsync(emulatorOptions);
        var host = new PowerShellHost();
        host.Run("$global:url = $args[0]; $global:aws = @{ EndpointUrl = $args[0]; AccessKey = $args[1]; SecretKey = $args[2] }",
            emulator.BaseUrl.ToString(), AccessKey, SecretKey);
        return new CopyTestBed(emulator, host);
    }

    public List<string> Seed(int count, string region = "us-east-1", Dictionary<string, string>? tags = null,
        string? description = null, bool encrypted = false, string? outpostArn = null)
        => Emulator.Seed(new SeedRequest
        {
            Region = region,
            Snapshots = count,
            Tags = tags,
            Description = description,
            Encrypted = encrypted,
            OutpostArn = outpostArn,
        }).SnapshotIds;

    /// <summary>A well-formed snapshot id that does not exist.</summary>
    public static string MissingId(int n = 1) => $"snap-{n:x17}";

    public Invocation Invoke(string script, params object[] args)
    {
        using var ps = Host.Create(script, args);
        var clock = Stopwatch.StartNew();
        Collection<PSObject> output;
        Exception? thrown = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException e)
        {
            thrown = e;
            output = new Collection<PSObject>();
        }
        return new Invocation(output, ps.Streams, thrown, clock.Elapsed);
    }

    /// <summary>DescribeSnapshots through the real SDK (what EC2 holds, not what the cmdlet reported).</summary>
    public async Task<Snapshot> DescribeAsync(string region, string snapshotId)
    {
        using var client = new AmazonEC2Client(new BasicAWSCredentials(AccessKey, SecretKey),
            new AmazonEC2Config { ServiceURL = Url, AuthenticationRegion = region, MaxErrorRetry = 0 });
        var response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [snapshotId] });
        return Assert.Single(response.Snapshots);
    }

    /// <summary>Copies made per destination region (from the emulator's counters).</summary>
    public int CopiesIn(string destinationRegion) =>
        Emulator.GetStats().CopiesPerSource.Values.Sum(d => d.GetValueOrDefault(destinationRegion));

    public int MaxPendingIn(string destinationRegion) =>
        Emulator.GetStats().MaxPendingCopies.GetValueOrDefault($"{Account}/{destinationRegion}");

    public async ValueTask DisposeAsync()
    {
        Host.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>What one pipeline produced (streams copied before the PowerShell instance is disposed).</summary>
public sealed class Invocation(Collection<PSObject> output, PSDataStreams streams, Exception? thrown, TimeSpan elapsed)
{
    public Collection<PSObject> Output { get; } = output;
    public Exception? Thrown { get; } = thrown;
    public TimeSpan Elapsed { get; } = elapsed;
    public List<SnapshotCopyResultView> Results => Output.Select(o => new SnapshotCopyResultView(o)).ToList();

    /// <summary>The error stream, plus the error that terminated the script (a terminating error, a parameter binding
    /// error, or -ErrorAction Stop), if any.</summary>
    public List<ErrorRecord> Errors { get; } = streams.Error
        .Concat(thrown is IContainsErrorRecord { ErrorRecord: { } record } ? [record] : Array.Empty<ErrorRecord>()).ToList();
    public List<string> Verbose { get; } = streams.Verbose.Select(v => v.Message).ToList();
    public List<string> Debug { get; } = streams.Debug.Select(v => v.Message).ToList();
    public List<string> Warnings { get; } = streams.Warning.Select(v => v.Message).ToList();
    public List<string> Information { get; } = streams.Information.Select(v => v.ToString()).ToList();
    public List<ProgressRecord> Progress { get; } = streams.Progress.ToList();

    public string Describe() =>
        $"output: {string.Join(" | ", Output.Select(o => o?.ToString()))}; errors: {string.Join(" | ", Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}"))}; thrown: {Thrown?.Message}";
}

/// <summary>Reads a result by property name, the way a script does (the module's types live in another load of the
/// assembly than a test reference would).</summary>
public sealed class SnapshotCopyResultView(PSObject result)
{
    public PSObject Object { get; } = result;
    public string TypeName => Object.BaseObject.GetType().FullName!;
    public string? SnapshotId => Object.Properties["SnapshotId"].Value as string;
    public string Region => (string)Object.Properties["Region"].Value;
    public string SourceSnapshotId => (string)Object.Properties["SourceSnapshotId"].Value;
    public string SourceRegion => (string)Object.Properties["SourceRegion"].Value;
    public string State => Object.Properties["State"].Value.ToString()!;
    public int Progress => (int)Object.Properties["Progress"].Value;
    public bool Encrypted => (bool)Object.Properties["Encrypted"].Value;
    public string? KmsKeyId => Object.Properties["KmsKeyId"].Value as string;
    public string? Description => Object.Properties["Description"].Value as string;
    public string? DestinationOutpostArn => Object.Properties["DestinationOutpostArn"].Value as string;
    public string? StatusMessage => Object.Properties["StatusMessage"].Value as string;
    public object? Duration => Object.Properties["Duration"].Value;
    public IDictionary<string, string> Tags => (IDictionary<string, string>)Object.Properties["Tags"].Value;
    public override string ToString() => $"{SourceSnapshotId} ({SourceRegion}) → {SnapshotId} ({Region}) {State}";
}
