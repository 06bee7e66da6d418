using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.SecurityToken;
using Avtomat.Ec2.Emulator;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Emulator.Tests.Support;

/// <summary>One emulator on a fake clock plus the SDK clients a test creates; disposed together.</summary>
public sealed class TestEmulator : IAsyncDisposable
{
    public static readonly DateTimeOffset Epoch = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private readonly List<IDisposable> _clients = new();

    private TestEmulator(Ec2Emulator ec2, FakeTimeProvider clock)
    {
        Ec2 = ec2;
        Clock = clock;
    }

    public Ec2Emulator Ec2 { get; }
    public FakeTimeProvider Clock { get; }
    public string AccountId => Ec2.Options.DefaultAccountId;

    /// <param name="configure">Adjust the options (Config included) before start.</param>
    public static async Task<TestEmulator> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var clock = new FakeTimeProvider(Epoch);
        var options = new EmulatorOptions { TimeProvider = clock };
        configure?.Invoke(options);
        var ec2 = await Ec2Emulator.StartAsync(options);
        return new TestEmulator(ec2, clock);
    }

    public AmazonEC2Client Client(string region = "us-east-1", string accessKeyId = EmulatorClients.DefaultAccessKeyId,
        int maxErrorRetry = 0, TimeSpan? timeout = null)
    {
        var client = EmulatorClients.Create(Ec2, region, accessKeyId, maxErrorRetry, timeout);
        _clients.Add(client);
        return client;
    }

    public AmazonSecurityTokenServiceClient Sts(string region = "us-east-1", string accessKeyId = EmulatorClients.DefaultAccessKeyId)
    {
        var client = EmulatorClients.CreateSts(Ec2, region, accessKeyId);
        _clients.Add(client);
        return client;
    }

    public AmazonEC2Client Client(Amazon.Runtime.AWSCredentials credentials, string region = "us-east-1")
    {
        var client = EmulatorClients.Create(Ec2, credentials, region);
        _clients.Add(client);
        return client;
    }

    public AmazonSecurityTokenServiceClient Sts(Amazon.Runtime.AWSCredentials credentials, string region = "us-east-1")
    {
        var client = EmulatorClients.CreateSts(Ec2, credentials, region);
        _clients.Add(client);
        return client;
    }

    public void Advance(TimeSpan by) => Clock.Advance(by);
    public void AdvanceSeconds(double seconds) => Clock.Advance(TimeSpan.FromSeconds(seconds));

    /// <summary>Seeds one completed snapshot and returns its id.</summary>
    public string SeedSnapshot(string region = "us-east-1", int sizeGiB = 8, string? description = null,
        Dictionary<string, string>? tags = null, bool encrypted = false, string? kmsKeyId = null, string? accountId = null,
        string? outpostArn = null)
        => Ec2.Seed(new SeedRequest
        {
            Region = region, Snapshots = 1, SizeGiB = sizeGiB, Description = description, Tags = tags,
            Encrypted = encrypted, KmsKeyId = kmsKeyId, AccountId = accountId, OutpostArn = outpostArn,
        }).SnapshotIds.Single();

    /// <summary>Seeds one available volume and returns its id.</summary>
    public string SeedVolume(string region = "us-east-1", int sizeGiB = 8, string? volumeType = null)
        => Ec2.Seed(new SeedRequest { Region = region, Volumes = 1, SizeGiB = sizeGiB, VolumeType = volumeType }).VolumeIds.Single();

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients) c.Dispose();
        await Ec2.DisposeAsync();
    }
}

public static class Ec2Extensions
{
    /// <summary>AWSSDK v4 leaves empty collections null: treat null as empty.</summary>
    public static List<T> OrEmpty<T>(this List<T>? list) => list ?? new List<T>();

    public static async Task<Snapshot> DescribeSnapshotAsync(this IAmazonEC2 client, string snapshotId)
    {
        var response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [snapshotId] });
        return Assert.Single(response.Snapshots.OrEmpty());
    }

    /// <summary>The snapshots of the calling account in the client's region (Owner=self), optionally filtered.</summary>
    public static async Task<List<Snapshot>> DescribeOwnSnapshotsAsync(this IAmazonEC2 client, params Filter[] filters)
    {
        var request = new DescribeSnapshotsRequest { OwnerIds = ["self"] };
        if (filters.Length > 0) request.Filters = filters.ToList();
        var response = await client.DescribeSnapshotsAsync(request);
        return response.Snapshots.OrEmpty();
    }

    public static Task<CopySnapshotResponse> CopyAsync(this IAmazonEC2 client, string sourceRegion, string sourceSnapshotId,
        Action<CopySnapshotRequest>? configure = null)
    {
        var request = new CopySnapshotRequest { SourceRegion = sourceRegion, SourceSnapshotId = sourceSnapshotId };
        configure?.Invoke(request);
        return client.CopySnapshotAsync(request);
    }

    public static Filter Filter(string name, params string[] values) => new() { Name = name, Values = values.ToList() };

    public static Dictionary<string, string> TagMap(this IEnumerable<Tag>? tags)
        => (tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? "");

    public static int ProgressPercent(this Snapshot s)
    {
        Assert.NotNull(s.Progress);
        Assert.EndsWith("%", s.Progress);
        return int.Parse(s.Progress.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
    }
}

public static class Expect
{
    /// <summary>Runs the call and returns the EC2 error the SDK surfaced, asserting its code and HTTP status.</summary>
    public static async Task<AmazonEC2Exception> Ec2ErrorAsync(Func<Task> call, string errorCode, int statusCode)
    {
        var ex = await Assert.ThrowsAsync<AmazonEC2Exception>(call);
        Assert.Equal(errorCode, ex.ErrorCode);
        Assert.Equal(statusCode, (int)ex.StatusCode);
        return ex;
    }

    /// <summary>Runs the call and returns the STS error the SDK surfaced (<typeparamref name="T"/> or a subclass, e.g.
    /// InvalidIdentityTokenException), asserting its code and HTTP status.</summary>
    public static async Task<T> StsErrorAsync<T>(Func<Task> call, string errorCode, int statusCode)
        where T : AmazonSecurityTokenServiceException
    {
        var ex = await Assert.ThrowsAnyAsync<T>(call);
        Assert.Equal(errorCode, ex.ErrorCode);
        Assert.Equal(statusCode, (int)ex.StatusCode);
        return ex;
    }

    public static Task<AmazonSecurityTokenServiceException> StsErrorAsync(Func<Task> call, string errorCode, int statusCode)
        => StsErrorAsync<AmazonSecurityTokenServiceException>(call, errorCode, statusCode);
}
