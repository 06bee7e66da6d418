using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Avtomat.Ec2.Emulator.Tests.Support;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>The EC2 Query protocol on the wire, with hand-made requests (no SDK in between).</summary>
public partial class WireFormatTests
{
    private static readonly XNamespace Ns = RawEc2.Ec2Ns;

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex MillisecondTimestamp();

    [Fact]
    public async Task DescribeSnapshots_Success_HasNamespacedRootRequestIdItemListsStatusAndMillisecondTimes()
    {
        await using var env = await TestEmulator.StartAsync();
        env.Advance(TimeSpan.FromMilliseconds(123));
        var id = env.Ec2.Seed(new() { Snapshots = 1, SizeGiB = 9, Tags = new() { ["Name"] = "n1" } }).SnapshotIds.Single();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "DescribeSnapshots", ("SnapshotId.1", id));

        Assert.Equal(HttpStatusCode.OK, status);
        var root = xml.Root!;
        Assert.Equal(Ns + "DescribeSnapshotsResponse", root.Name);
        Assert.False(string.IsNullOrEmpty(root.Element(Ns + "requestId")?.Value));
        var item = Assert.Single(root.Element(Ns + "snapshotSet")!.Elements(Ns + "item"));
        Assert.Equal(id, item.Element(Ns + "snapshotId")?.Value);
        Assert.Equal("completed", item.Element(Ns + "status")?.Value);
        Assert.Equal("100%", item.Element(Ns + "progress")?.Value);
        Assert.Equal("9", item.Element(Ns + "volumeSize")?.Value);
        Assert.Equal(env.AccountId, item.Element(Ns + "ownerId")?.Value);
        Assert.Equal("false", item.Element(Ns + "encrypted")?.Value);
        var startTime = item.Element(Ns + "startTime")?.Value;
        Assert.NotNull(startTime);
        Assert.Matches(MillisecondTimestamp(), startTime);
        Assert.Equal("2026-03-04T05:06:07.123Z", startTime);
        var tag = Assert.Single(item.Element(Ns + "tagSet")!.Elements(Ns + "item"));
        Assert.Equal("Name", tag.Element(Ns + "key")?.Value);
        Assert.Equal("n1", tag.Element(Ns + "value")?.Value);
    }

    [Fact]
    public async Task CopySnapshot_Success_ReturnsSnapshotIdInNamespacedResponse()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-west-2", "CopySnapshot",
            ("SourceRegion", "us-east-1"), ("SourceSnapshotId", source), ("Description", "raw copy"),
            ("TagSpecification.1.ResourceType", "snapshot"), ("TagSpecification.1.Tag.1.Key", "K"), ("TagSpecification.1.Tag.1.Value", "V"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Ns + "CopySnapshotResponse", xml.Root!.Name);
        Assert.False(string.IsNullOrEmpty(xml.Root.Element(Ns + "requestId")?.Value));
        var newId = xml.Root.Element(Ns + "snapshotId")?.Value;
        Assert.StartsWith("snap-", newId);
        var tag = Assert.Single(xml.Root.Element(Ns + "tagSet")!.Elements(Ns + "item"));
        Assert.Equal("K", tag.Element(Ns + "key")?.Value);

        // The destination is the signing region from the credential scope.
        var (_, west, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-west-2", "DescribeSnapshots", ("SnapshotId.1", newId!));
        Assert.Equal("raw copy", west.Root!.Element(Ns + "snapshotSet")!.Element(Ns + "item")!.Element(Ns + "description")?.Value);
    }

    [Fact]
    public async Task Error_UsesResponseErrorsEnvelopeWithoutNamespace_AndCapitalisedRequestID()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "DescribeSnapshots", ("SnapshotId.1", "snap-0123456789abcdef0"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidSnapshot.NotFound", RawEc2.AssertErrorEnvelope(xml));
        Assert.Null(xml.Root!.Element("requestId"));
    }

    [Fact]
    public async Task UnknownAction_Is400InvalidAction()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "LaunchTheRocket");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidAction", RawEc2.AssertErrorEnvelope(xml));
    }

    [Fact]
    public async Task MissingRequiredParameter_Is400MissingParameter()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-west-2", "CopySnapshot", ("SourceRegion", "us-east-1"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("MissingParameter", RawEc2.AssertErrorEnvelope(xml));
    }

    [Fact]
    public async Task DryRun_Is412DryRunOperationInErrorEnvelope()
    {
        await using var env = await TestEmulator.StartAsync();
        var source = env.SeedSnapshot("us-east-1");

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-west-2", "CopySnapshot",
            ("SourceRegion", "us-east-1"), ("SourceSnapshotId", source), ("DryRun", "true"));

        Assert.Equal((HttpStatusCode)412, status);
        Assert.Equal("DryRunOperation", RawEc2.AssertErrorEnvelope(xml));
    }

    [Fact]
    public async Task MissingAuthorization_IsAClientErrorInErrorEnvelope()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl,
            [new("Action", "DescribeRegions"), new("Version", "2016-11-15")], authorization: null);

        Assert.InRange((int)status, 400, 499);
        RawEc2.AssertErrorEnvelope(xml);
    }

    [Theory]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIDEMULATORTEST/20260304/ec2/aws4_request, SignedHeaders=host, Signature=00")]
    [InlineData("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task MalformedCredentialScope_IsAClientErrorInErrorEnvelope(string authorization)
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl,
            [new("Action", "DescribeRegions"), new("Version", "2016-11-15")], authorization);

        Assert.InRange((int)status, 400, 499);
        RawEc2.AssertErrorEnvelope(xml);
    }

    [Fact]
    public async Task CredentialScopeRegion_SelectsTheRegion_AndAccessKeySelectsTheAccount()
    {
        await using var env = await TestEmulator.StartAsync(o => o.Accounts["AKIDRAWOTHER"] = "333333333333");
        var id = env.Ec2.Seed(new() { Region = "ap-south-1", Snapshots = 1, AccountId = "333333333333" }).SnapshotIds.Single();

        var (okStatus, ok, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl,
            [new("Action", "DescribeSnapshots"), new("Version", "2016-11-15"), new("Owner.1", "self")],
            RawEc2.Authorization("ap-south-1", "AKIDRAWOTHER"));
        var (_, wrongRegion, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl,
            [new("Action", "DescribeSnapshots"), new("Version", "2016-11-15"), new("Owner.1", "self")],
            RawEc2.Authorization("us-east-1", "AKIDRAWOTHER"));
        var (_, wrongAccount, _) = await RawEc2.PostAsync(env.Ec2.BaseUrl,
            [new("Action", "DescribeSnapshots"), new("Version", "2016-11-15"), new("Owner.1", "self")],
            RawEc2.Authorization("ap-south-1"));

        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(id, ok.Root!.Element(Ns + "snapshotSet")!.Element(Ns + "item")?.Element(Ns + "snapshotId")?.Value);
        Assert.Empty(wrongRegion.Root!.Element(Ns + "snapshotSet")!.Elements(Ns + "item"));
        Assert.Empty(wrongAccount.Root!.Element(Ns + "snapshotSet")!.Elements(Ns + "item"));
    }

    [Fact]
    public async Task DescribeRegions_Success_ListsRegionInfoItems()
    {
        await using var env = await TestEmulator.StartAsync();

        var (status, xml, _) = await RawEc2.CallAsync(env.Ec2.BaseUrl, "us-east-1", "DescribeRegions");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Ns + "DescribeRegionsResponse", xml.Root!.Name);
        var names = xml.Root.Element(Ns + "regionInfo")!.Elements(Ns + "item").Select(i => i.Element(Ns + "regionName")?.Value).ToList();
        Assert.Contains("us-east-1", names);
        Assert.Contains("eu-west-1", names);
    }
}
