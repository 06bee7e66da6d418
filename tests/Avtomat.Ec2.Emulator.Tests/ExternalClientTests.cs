using System.Text.Json;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>
/// Other AWS clients against the emulator: the AWS CLI v1 and boto3 (botocore builds its own PresignedUrl, form encoding
/// and SigV4). Real clock with short durations; skipped, never failed, when the tool is missing.
/// </summary>
public sealed class ExternalClientTests : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);
    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-ext-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private static Task<Ec2Emulator> StartRealTimeAsync() => Ec2Emulator.StartAsync(new EmulatorOptions
    {
        TimeProvider = TimeProvider.System,
        Config = new EmulatorConfig
        {
            Durations = new DurationConfig
            {
                Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 0.5 },
                CrossRegionFactor = 1,
            },
        },
    });

    private ExternalTools.ProcessResult Aws(Ec2Emulator ec2, params string[] args)
        => ExternalTools.Run(ExternalTools.AwsCli!,
            ["ec2", .. args, "--endpoint-url", ec2.BaseUrl.ToString(), "--output", "json"],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), ProcessTimeout);

    [AwsCliFact]
    public async Task AwsCli_CopySnapshotCrossRegion_LandsInDestinationRegion()
    {
        await using var ec2 = await StartRealTimeAsync();
        var source = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, SizeGiB = 3 }).SnapshotIds.Single();

        var copy = Aws(ec2, "copy-snapshot", "--source-region", "us-east-1", "--source-snapshot-id", source,
            "--description", "from the cli", "--region", "us-west-2");
        Assert.True(copy.ExitCode == 0, $"aws copy-snapshot failed ({copy.ExitCode}): {copy.StdErr}");
        var newId = JsonDocument.Parse(copy.StdOut).RootElement.GetProperty("SnapshotId").GetString();
        Assert.StartsWith("snap-", newId);

        var west = Aws(ec2, "describe-snapshots", "--snapshot-ids", newId!, "--region", "us-west-2");
        Assert.True(west.ExitCode == 0, $"aws describe-snapshots failed ({west.ExitCode}): {west.StdErr}");
        var snap = JsonDocument.Parse(west.StdOut).RootElement.GetProperty("Snapshots").EnumerateArray().Single();
        Assert.Equal(newId, snap.GetProperty("SnapshotId").GetString());
        Assert.Equal("from the cli", snap.GetProperty("Description").GetString());
        Assert.Equal(3, snap.GetProperty("VolumeSize").GetInt32());
        Assert.Equal("123456789012", snap.GetProperty("OwnerId").GetString());

        var east = Aws(ec2, "describe-snapshots", "--owner-ids", "self", "--region", "us-east-1");
        Assert.True(east.ExitCode == 0, east.StdErr);
        var eastIds = JsonDocument.Parse(east.StdOut).RootElement.GetProperty("Snapshots").EnumerateArray()
            .Select(s => s.GetProperty("SnapshotId").GetString()).ToList();
        Assert.Equal([source], eastIds);
        Assert.Equal(1, ec2.GetStats().CopiesPerSource[$"us-east-1/{source}"]["us-west-2"]);
    }

    [AwsCliFact]
    public async Task AwsCli_DescribeInstancesAndCreateSnapshots_ParseWithBotocoreShapes()
    {
        await using var ec2 = await StartRealTimeAsync();
        var seeded = ec2.Seed(new SeedRequest { Region = "us-east-1", Instances = 1, DataVolumesPerInstance = 1, NamePrefix = "web" });
        var instanceId = seeded.InstanceIds.Single();

        var described = Aws(ec2, "describe-instances", "--region", "us-east-1", "--filters", "Name=tag:Name,Values=web-1");
        Assert.True(described.ExitCode == 0, $"aws describe-instances failed ({described.ExitCode}): {described.StdErr}");
        var instance = JsonDocument.Parse(described.StdOut).RootElement.GetProperty("Reservations").EnumerateArray().Single()
            .GetProperty("Instances").EnumerateArray().Single();
        Assert.Equal(instanceId, instance.GetProperty("InstanceId").GetString());
        Assert.Equal("running", instance.GetProperty("State").GetProperty("Name").GetString());
        Assert.Equal(16, instance.GetProperty("State").GetProperty("Code").GetInt32());
        Assert.Equal("us-east-1a", instance.GetProperty("Placement").GetProperty("AvailabilityZone").GetString());
        Assert.Equal(seeded.InstanceVolumeIds[instanceId], instance.GetProperty("BlockDeviceMappings").EnumerateArray()
            .Select(m => m.GetProperty("Ebs").GetProperty("VolumeId").GetString()));

        var created = Aws(ec2, "create-snapshots", "--region", "us-east-1", "--instance-specification",
            $"InstanceId={instanceId},ExcludeBootVolume=true", "--copy-tags-from-source", "volume");
        Assert.True(created.ExitCode == 0, $"aws create-snapshots failed ({created.ExitCode}): {created.StdErr}");
        var snapshot = JsonDocument.Parse(created.StdOut).RootElement.GetProperty("Snapshots").EnumerateArray().Single();
        Assert.Equal(seeded.InstanceVolumeIds[instanceId][1], snapshot.GetProperty("VolumeId").GetString());
        Assert.Equal("pending", snapshot.GetProperty("State").GetString());
        Assert.Equal("web-1-data1", snapshot.GetProperty("Tags").EnumerateArray().Single().GetProperty("Value").GetString());

        var volumes = Aws(ec2, "describe-volumes", "--region", "us-east-1", "--filters", $"Name=attachment.instance-id,Values={instanceId}");
        Assert.True(volumes.ExitCode == 0, volumes.StdErr);
        var attachments = JsonDocument.Parse(volumes.StdOut).RootElement.GetProperty("Volumes").EnumerateArray()
            .Select(v => v.GetProperty("Attachments").EnumerateArray().Single()).ToList();
        Assert.Equal(new[] { "/dev/xvda", "/dev/sdf" }, attachments.Select(a => a.GetProperty("Device").GetString()));
        Assert.All(attachments, a => Assert.Equal("attached", a.GetProperty("State").GetString()));
    }

    [AwsCliFact]
    public async Task AwsCli_CopyOfMissingSnapshot_ReportsInvalidSnapshotNotFound()
    {
        await using var ec2 = await StartRealTimeAsync();

        var result = Aws(ec2, "copy-snapshot", "--source-region", "us-east-1", "--source-snapshot-id", "snap-0123456789abcdef0",
            "--region", "us-west-2");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("InvalidSnapshot.NotFound", result.StdErr);
    }

    private const string Boto3Script = """
import json, sys, time
import boto3
from botocore.config import Config
endpoint, source = sys.argv[1], sys.argv[2]
def client(region):
    return boto3.client("ec2", region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="AKIDEMULATORTEST", aws_secret_access_key="secret",
                        config=Config(retries={"max_attempts": 1}))
west, east = client("us-west-2"), client("us-east-1")
new_id = west.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=source, Description="from boto3")["SnapshotId"]
states = []
deadline = time.time() + 30
while True:
    snap = west.describe_snapshots(SnapshotIds=[new_id])["Snapshots"][0]
    if not states or states[-1] != snap["State"]:
        states.append(snap["State"])
    if snap["State"] != "pending" or time.time() > deadline:
        break
    time.sleep(0.2)
in_east = east.describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": [new_id]}])["Snapshots"]
try:
    east.describe_snapshots(SnapshotIds=[new_id])
    not_found_code = None
except Exception as e:
    not_found_code = e.response["Error"]["Code"]
print(json.dumps({"id": new_id, "states": states, "progress": snap["Progress"], "volumeId": snap["VolumeId"],
                  "inEast": len(in_east), "notFoundCode": not_found_code}))
""";

    [Boto3Fact]
    public async Task Boto3_CopySnapshotCrossRegion_PollsUntilCompleted()
    {
        await using var ec2 = await StartRealTimeAsync();
        var source = ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1 }).SnapshotIds.Single();

        var result = ExternalTools.Run("python3", ["-c", Boto3Script, ec2.BaseUrl.ToString(), source],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), ProcessTimeout);

        Assert.True(result.ExitCode == 0, $"boto3 script failed ({result.ExitCode}): {result.StdErr}");
        var output = JsonDocument.Parse(result.StdOut.Trim().Split('\n').Last()).RootElement;
        Assert.StartsWith("snap-", output.GetProperty("id").GetString());
        var states = output.GetProperty("states").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal("completed", states.Last());
        Assert.DoesNotContain("error", states);
        Assert.Equal("100%", output.GetProperty("progress").GetString());
        Assert.Equal("vol-ffffffff", output.GetProperty("volumeId").GetString());
        Assert.Equal(0, output.GetProperty("inEast").GetInt32());
        Assert.Equal("InvalidSnapshot.NotFound", output.GetProperty("notFoundCode").GetString());
    }
}
