using System.Text.Json;
using Avtomat.Ec2.Emulator.Tests.Support;
using static Avtomat.Ec2.Emulator.Tests.SharingTests;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>Sharing through outside clients (the AWS CLI v1 and boto3, which build the Query requests and parse the XML
/// with botocore's own model): both ModifySnapshotAttribute shapes, DescribeSnapshotAttribute's items, what the other
/// account sees, the aws/ebs refusal and DeleteTags. On the fake clock: nothing here waits. Skipped, never failed, when
/// the tool is missing.</summary>
public sealed class SharingExternalClientTests : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);
    private readonly string _tempDir = Directory.CreateTempSubdirectory("avtomat-ec2-share-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_tempDir, recursive: true); } catch (IOException) { }
    }

    private ExternalTools.ProcessResult Run(TestEmulator env, string accessKeyId, params string[] args)
        => ExternalTools.Run(ExternalTools.AwsCli!,
            ["ec2", .. args, "--endpoint-url", env.Ec2.BaseUrl.ToString(), "--region", "us-east-1", "--output", "json"],
            ExternalTools.IsolatedAwsEnvironment(_tempDir, accessKeyId), ProcessTimeout);

    /// <summary>Runs the CLI and returns its JSON output (asserting exit code 0); null for an empty output.</summary>
    private JsonElement? Aws(TestEmulator env, string accessKeyId, params string[] args)
    {
        var result = Run(env, accessKeyId, args);
        Assert.True(result.ExitCode == 0, $"aws {string.Join(' ', args)} failed ({result.ExitCode}): {result.StdErr}");
        return result.StdOut.Trim().Length == 0 ? null : JsonDocument.Parse(result.StdOut).RootElement.Clone();
    }

    private static List<string?> SnapshotIds(JsonElement? output) =>
        output!.Value.GetProperty("Snapshots").EnumerateArray().Select(s => s.GetProperty("SnapshotId").GetString()).ToList();

    private static List<(string? UserId, string? Group)> Permissions(JsonElement? output) =>
        output!.Value.GetProperty("CreateVolumePermissions").EnumerateArray()
            .Select(p => (p.TryGetProperty("UserId", out var u) ? u.GetString() : null, p.TryGetProperty("Group", out var g) ? g.GetString() : null))
            .ToList();

    [AwsCliFact]
    public async Task AwsCli_ShareWithAnotherAccount_BothShapes_AttributeParsed_OtherAccountSeesItUntilReset()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");
        const string a = EmulatorClients.DefaultAccessKeyId;

        Assert.Empty(SnapshotIds(Aws(env, KeyB, "describe-snapshots", "--snapshot-ids", snap)));

        Aws(env, a, "modify-snapshot-attribute", "--snapshot-id", snap, "--attribute", "createVolumePermission",
            "--operation-type", "add", "--user-ids", B);

        var attribute = Aws(env, a, "describe-snapshot-attribute", "--snapshot-id", snap, "--attribute", "createVolumePermission");
        Assert.Equal(snap, attribute!.Value.GetProperty("SnapshotId").GetString());
        Assert.Equal([(B, null)], Permissions(attribute));
        var restorable = Aws(env, KeyB, "describe-snapshots", "--restorable-by-user-ids", "self");
        Assert.Equal([snap], SnapshotIds(restorable));
        Assert.Equal(A, restorable!.Value.GetProperty("Snapshots")[0].GetProperty("OwnerId").GetString());
        Assert.Equal([snap], SnapshotIds(Aws(env, KeyB, "describe-snapshots", "--owner-ids", A)));

        Aws(env, a, "modify-snapshot-attribute", "--snapshot-id", snap, "--create-volume-permission", $"Remove=[{{UserId={B}}}]");

        Assert.Empty(SnapshotIds(Aws(env, KeyB, "describe-snapshots", "--snapshot-ids", snap)));

        Aws(env, a, "modify-snapshot-attribute", "--snapshot-id", snap, "--attribute", "createVolumePermission",
            "--operation-type", "add", "--group-names", "all");
        Aws(env, a, "modify-snapshot-attribute", "--snapshot-id", snap, "--create-volume-permission", $"Add=[{{UserId={C}}}]");

        Assert.Equal([(C, null), (null, "all")], Permissions(Aws(env, a, "describe-snapshot-attribute", "--snapshot-id", snap,
            "--attribute", "createVolumePermission")));
        Assert.Equal([snap], SnapshotIds(Aws(env, KeyB, "describe-snapshots", "--restorable-by-user-ids", "all")));

        Aws(env, a, "reset-snapshot-attribute", "--snapshot-id", snap, "--attribute", "createVolumePermission");

        Assert.Empty(Permissions(Aws(env, a, "describe-snapshot-attribute", "--snapshot-id", snap, "--attribute", "createVolumePermission")));
        Assert.Empty(SnapshotIds(Aws(env, KeyB, "describe-snapshots")));
    }

    [AwsCliFact]
    public async Task AwsCli_AwsManagedKeySnapshot_IsRefusedWithEc2sError_AndDeleteTagsRemovesATag()
    {
        await using var env = await StartAsync();
        var encrypted = env.SeedSnapshot("us-east-1", encrypted: true, tags: new() { ["keep"] = "1", ["drop"] = "2" });
        const string a = EmulatorClients.DefaultAccessKeyId;

        var refused = Run(env, a, "modify-snapshot-attribute", "--snapshot-id", encrypted, "--attribute", "createVolumePermission",
            "--operation-type", "add", "--user-ids", B);

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("OperationNotPermitted", refused.StdErr);
        Assert.Contains("Encrypted snapshots with EBS default key cannot be shared", refused.StdErr);

        Aws(env, a, "delete-tags", "--resources", encrypted, "--tags", "Key=drop");

        var tags = Aws(env, a, "describe-snapshots", "--snapshot-ids", encrypted)!.Value.GetProperty("Snapshots")[0].GetProperty("Tags")
            .EnumerateArray().Select(t => t.GetProperty("Key").GetString()).ToList();
        Assert.Equal(["keep"], tags);
    }

    private const string Boto3Script = """
import json, sys
import boto3
from botocore.config import Config
endpoint, snap, b = sys.argv[1], sys.argv[2], sys.argv[3]
def client(key, region):
    return boto3.client("ec2", region_name=region, endpoint_url=endpoint, aws_access_key_id=key,
                        aws_secret_access_key="secret", config=Config(retries={"max_attempts": 1}))
a, as_b, b_west = client("AKIDEMULATORTEST", "us-east-1"), client("AKIDACCOUNTB", "us-east-1"), client("AKIDACCOUNTB", "us-west-2")
before = as_b.describe_snapshots(SnapshotIds=[snap])["Snapshots"]
a.modify_snapshot_attribute(SnapshotId=snap, CreateVolumePermission={"Add": [{"UserId": b}]})
attribute = a.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")
after = as_b.describe_snapshots(SnapshotIds=[snap])["Snapshots"]
copy_id = b_west.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=snap)["SnapshotId"]
copy = b_west.describe_snapshots(OwnerIds=["self"])["Snapshots"]
print(json.dumps({"before": len(before), "permissions": attribute["CreateVolumePermissions"],
                  "after": [s["OwnerId"] for s in after], "copy": copy_id, "copies": [(s["SnapshotId"], s["OwnerId"]) for s in copy]}))
""";

    [Boto3Fact]
    public async Task Boto3_SharesWithCreateVolumePermission_AndTheOtherAccountCopiesIt()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");

        var result = ExternalTools.Run("python3", ["-c", Boto3Script, env.Ec2.BaseUrl.ToString(), snap, B],
            ExternalTools.IsolatedAwsEnvironment(_tempDir), ProcessTimeout);

        Assert.True(result.ExitCode == 0, $"boto3 script failed ({result.ExitCode}): {result.StdErr}");
        var output = JsonDocument.Parse(result.StdOut.Trim().Split('\n').Last()).RootElement;
        Assert.Equal(0, output.GetProperty("before").GetInt32());
        Assert.Equal(B, output.GetProperty("permissions")[0].GetProperty("UserId").GetString());
        Assert.Equal([A], output.GetProperty("after").EnumerateArray().Select(o => o.GetString()));
        var copy = output.GetProperty("copies").EnumerateArray().Single();
        Assert.Equal(output.GetProperty("copy").GetString(), copy[0].GetString());
        Assert.Equal(B, copy[1].GetString());
    }
}
