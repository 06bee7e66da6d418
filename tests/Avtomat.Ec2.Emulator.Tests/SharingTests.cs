using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Emulator.Tests.Support;
using static Avtomat.Ec2.Emulator.Tests.Support.Ec2Extensions;

namespace Avtomat.Ec2.Emulator.Tests;

/// <summary>Snapshot sharing between accounts through the real AWSSDK: createVolumePermission (ModifySnapshotAttribute in
/// both wire shapes, DescribeSnapshotAttribute, ResetSnapshotAttribute), what each account then sees in DescribeSnapshots
/// (by id, by default, Owner.N, RestorableBy.N) and may copy, EC2's refusals, and DeleteTags.</summary>
public class SharingTests
{
    // A is the emulator's default account; B and C act through their own access keys.
    public const string A = "123456789012";
    public const string B = "210987654321";
    public const string C = "333333333333";
    public const string KeyB = "AKIDACCOUNTB";
    public const string KeyC = "AKIDACCOUNTC";

    public static Task<TestEmulator> StartAsync(Action<EmulatorOptions>? configure = null) => TestEmulator.StartAsync(o =>
    {
        o.Accounts[KeyB] = B;
        o.Accounts[KeyC] = C;
        o.Config.Durations.Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = 60 };
        configure?.Invoke(o);
    });

    private static Task<DescribeSnapshotsResponse> Describe(IAmazonEC2 ec2, List<string>? ids = null, List<string>? owners = null,
        List<string>? restorableBy = null)
        => ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = ids, OwnerIds = owners, RestorableByUserIds = restorableBy });

    private static async Task<List<string>> Ids(Task<DescribeSnapshotsResponse> call) =>
        (await call).Snapshots.OrEmpty().Select(s => s.SnapshotId).ToList();

    /// <summary>What <paramref name="ec2"/>'s account sees of <paramref name="id"/>: by id, in a bare DescribeSnapshots, with
    /// RestorableBy self and with Owner = the snapshot's owner.</summary>
    private static async Task<(bool ById, bool ByDefault, bool RestorableBySelf, bool ByOwner)> Sees(IAmazonEC2 ec2, string id, string owner) =>
        ((await Ids(Describe(ec2, ids: [id]))).Contains(id),
         (await Ids(Describe(ec2))).Contains(id),
         (await Ids(Describe(ec2, restorableBy: ["self"]))).Contains(id),
         (await Ids(Describe(ec2, owners: [owner]))).Contains(id));

    private static Task<ModifySnapshotAttributeResponse> Share(IAmazonEC2 ec2, string id, OperationType operation, List<string>? users = null,
        List<string>? groups = null)
        => ec2.ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = id, Attribute = SnapshotAttributeName.CreateVolumePermission, OperationType = operation,
            UserIds = users, GroupNames = groups,
        });

    private static Task<ModifySnapshotAttributeResponse> ShareAsStructure(IAmazonEC2 ec2, string id,
        List<CreateVolumePermission>? add = null, List<CreateVolumePermission>? remove = null)
        => ec2.ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = id, CreateVolumePermission = new CreateVolumePermissionModifications { Add = add, Remove = remove },
        });

    private static Task<DescribeSnapshotAttributeResponse> Permissions(IAmazonEC2 ec2, string id) =>
        ec2.DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest
        {
            SnapshotId = id, Attribute = SnapshotAttributeName.CreateVolumePermission,
        });

    // ------------------------------------------------------------------ the matrix

    [Fact]
    public async Task TwoAccounts_SharedWithB_BSeesAndCopiesIt_UntilRemovedOrReset()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1", sizeGiB: 5);
        var a = env.Client("us-east-1");
        var b = env.Client("us-east-1", KeyB);
        var bWest = env.Client("us-west-2", KeyB);

        Assert.Equal((false, false, false, false), await Sees(b, snap, A));
        await Expect.Ec2ErrorAsync(() => bWest.CopyAsync("us-east-1", snap), "InvalidSnapshot.NotFound", 400);

        await Share(a, snap, OperationType.Add, users: [B]);                     // UserId.N + OperationType

        Assert.Equal((true, true, true, true), await Sees(b, snap, A));
        var seen = Assert.Single((await Describe(b, ids: [snap])).Snapshots);
        Assert.Equal(A, seen.OwnerId);
        Assert.Empty(await Ids(Describe(b, owners: ["self"])));                  // B owns none
        Assert.Equal([snap], await Ids(Describe(a, owners: ["self"])));          // A's view is unchanged
        var copyId = (await bWest.CopyAsync("us-east-1", snap)).SnapshotId;
        env.Advance(TimeSpan.FromHours(1));
        var copy = await bWest.DescribeSnapshotAsync(copyId);
        Assert.Equal((B, SnapshotState.Completed, 5), (copy.OwnerId, copy.State, copy.VolumeSize ?? 0));
        Assert.Equal([copyId], await Ids(Describe(bWest, owners: ["self"])));
        Assert.Empty(await Ids(Describe(env.Client("us-west-2"), owners: ["self"])));
        var stats = env.Ec2.GetStats();
        Assert.Equal(1, stats.CopiesPerSourceAndDestination[$"us-east-1/{snap}"][$"{B}/us-west-2"]);
        Assert.Equal(1, stats.CopiesPerDestination[$"{B}/us-west-2"]);
        Assert.False(stats.CopiesPerDestination.ContainsKey($"{A}/us-west-2"));

        await ShareAsStructure(a, snap, remove: [new CreateVolumePermission { UserId = B }]); // CreateVolumePermission.Remove.N

        Assert.Equal((false, false, false, false), await Sees(b, snap, A));
        await Expect.Ec2ErrorAsync(() => bWest.CopyAsync("us-east-1", snap), "InvalidSnapshot.NotFound", 400);

        await ShareAsStructure(a, snap, add: [new CreateVolumePermission { UserId = B }]);    // CreateVolumePermission.Add.N
        Assert.Equal((true, true, true, true), await Sees(b, snap, A));

        await a.ResetSnapshotAttributeAsync(new ResetSnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.CreateVolumePermission,
        });

        Assert.Equal((false, false, false, false), await Sees(b, snap, A));
        Assert.Null((await Permissions(a, snap)).CreateVolumePermissions);
        // Both wire shapes went out as the brief lists them.
        var modifies = env.Ec2.GetCalls("ModifySnapshotAttribute");
        Assert.Equal(("createVolumePermission", "add", B), (modifies[0].Get("Attribute"), modifies[0].Get("OperationType"), modifies[0].Get("UserId.1")));
        Assert.Equal(B, modifies[1].Get("CreateVolumePermission.Remove.1.UserId"));
        Assert.Equal(B, modifies[2].Get("CreateVolumePermission.Add.1.UserId"));
    }

    [Fact]
    public async Task ThreeAccounts_SharingWithOneIsNotSharingWithAnother_PublicIsSeenByAll()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");
        var other = env.SeedSnapshot("us-east-1", accountId: C); // C's own, never shared
        var a = env.Client("us-east-1");
        var b = env.Client("us-east-1", KeyB);
        var c = env.Client("us-east-1", KeyC);

        await Share(a, snap, OperationType.Add, users: [B]);

        Assert.Equal((true, true, true, true), await Sees(b, snap, A));
        Assert.Equal((false, false, false, false), await Sees(c, snap, A));
        Assert.Equal([snap], await Ids(Describe(a, restorableBy: [B])));  // ids the owner shared with
        Assert.Empty(await Ids(Describe(a, restorableBy: [C])));
        Assert.Empty(await Ids(Describe(b, ids: [other])));               // C's snapshot: exists, not for B

        await Share(a, snap, OperationType.Add, groups: ["all"]);         // UserGroup.N

        Assert.Equal((true, true, false, true), await Sees(c, snap, A)); // public is not an explicit permission
        Assert.Equal([snap], await Ids(Describe(c, restorableBy: ["all"])));
        Assert.Equal([snap], await Ids(Describe(b, restorableBy: ["self", "all"])));
        Assert.Equal([snap], await Ids(Describe(b)));                     // listed once, though shared twice over
        Assert.Equal([snap, other], await Ids(Describe(c)));              // creation order, as always
        var permissions = (await Permissions(a, snap)).CreateVolumePermissions;
        Assert.Equal([(B, null), (null, "all")], permissions.Select(p => (p.UserId, p.Group?.Value)));

        await Share(a, snap, OperationType.Remove, groups: ["all"]);

        Assert.Equal((false, false, false, false), await Sees(c, snap, A));
        Assert.Equal((true, true, true, true), await Sees(b, snap, A));
    }

    [Fact]
    public async Task DescribeById_AnIdThatExistsNowhereFailsTheCall_OneNotSharedIsLeftOut()
    {
        await using var env = await StartAsync();
        var hidden = env.SeedSnapshot("us-east-1");
        var mine = env.SeedSnapshot("us-east-1", accountId: B);
        var westOfA = env.SeedSnapshot("us-west-2");
        var b = env.Client("us-east-1", KeyB);

        Assert.Equal([mine], await Ids(Describe(b, ids: [hidden, mine])));
        await Expect.Ec2ErrorAsync(() => Describe(b, ids: [mine, "snap-0123456789abcdef0"]), "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => Describe(b, ids: [westOfA]), "InvalidSnapshot.NotFound", 400); // another region
        // A snapshot-id filter never fails: it leaves out what B may not see.
        Assert.Equal([mine], (await b.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            Filters = [Filter("snapshot-id", hidden, mine, "snap-0123456789abcdef0")],
        })).Snapshots.Select(s => s.SnapshotId));

        await env.Client("us-east-1").DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = hidden });
        await Share(env.Client("us-west-2"), westOfA, OperationType.Add, users: [B]);
        Assert.Equal([westOfA], await Ids(Describe(env.Client("us-west-2", KeyB))));
        await env.Client("us-west-2").DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = westOfA });

        await Expect.Ec2ErrorAsync(() => Describe(b, ids: [hidden]), "InvalidSnapshot.NotFound", 400);
        Assert.Equal([mine], await Ids(Describe(b)));
        Assert.Empty(await Ids(Describe(env.Client("us-west-2", KeyB)))); // the deleted share is gone from B's index too
    }

    [Fact]
    public async Task OwnerAndRestorableBy_AmazonMatchesNothing_MalformedIsInvalidUserId_BothMustHold()
    {
        await using var env = await StartAsync();
        var shared = env.SeedSnapshot("us-east-1");
        var own = env.SeedSnapshot("us-east-1", accountId: B);
        var b = env.Client("us-east-1", KeyB);
        await Share(env.Client("us-east-1"), shared, OperationType.Add, users: [B]);

        Assert.Equal([shared, own], await Ids(Describe(b)));
        Assert.Equal([shared, own], await Ids(Describe(b, owners: ["self", A])));
        Assert.Equal([own], await Ids(Describe(b, owners: [B])));
        Assert.Empty(await Ids(Describe(b, owners: ["amazon"])));
        Assert.Empty(await Ids(Describe(b, ids: [shared], owners: ["amazon"])));   // a filter here, not an error
        Assert.Equal([own], await Ids(Describe(b, owners: ["self"], restorableBy: ["self"])));
        Assert.Empty(await Ids(Describe(b, owners: [A], restorableBy: ["all"])));
        Assert.Empty(await Ids(Describe(b, restorableBy: [A])));                  // ids: only over one's own snapshots
        var ex = await Expect.Ec2ErrorAsync(() => Describe(b, owners: ["12345"]), "InvalidUserID.Malformed", 400);
        Assert.Contains("12345", ex.Message);
        await Expect.Ec2ErrorAsync(() => Describe(b, restorableBy: ["everyone"]), "InvalidUserID.Malformed", 400);
    }

    [Fact]
    public async Task TagsOfASharedSnapshot_AreShownToTheOwnerOnly()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1", tags: new() { ["Team"] = "db" });
        var b = env.Client("us-east-1", KeyB);
        await Share(env.Client("us-east-1"), snap, OperationType.Add, users: [B]);

        Assert.Null((await b.DescribeSnapshotAsync(snap)).Tags);
        Assert.Equal("db", (await env.Client("us-east-1").DescribeSnapshotAsync(snap)).Tags.TagMap()["Team"]);
        Assert.Empty((await b.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { Filters = [Filter("tag:Team", "db")] })).Snapshots.OrEmpty());
        Assert.Empty((await b.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { Filters = [Filter("tag-key", "Team")] })).Snapshots.OrEmpty());
        Assert.Single((await b.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { Filters = [Filter("owner-id", A)] })).Snapshots);
    }

    // ------------------------------------------------------------------ EC2's refusals

    [Fact]
    public async Task SnapshotEncryptedWithTheAwsManagedKey_CannotBeSharedWithAnAccount()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1", encrypted: true); // alias/aws/ebs of A
        var a = env.Client("us-east-1");

        var ex = await Expect.Ec2ErrorAsync(() => Share(a, snap, OperationType.Add, users: [B]), "OperationNotPermitted", 400);
        Assert.Equal("Encrypted snapshots with EBS default key cannot be shared", ex.Message);
        await Expect.Ec2ErrorAsync(() => ShareAsStructure(a, snap, add: [new CreateVolumePermission { UserId = B }]),
            "OperationNotPermitted", 400);

        Assert.Null((await Permissions(a, snap)).CreateVolumePermissions);
        Assert.Empty(await Ids(Describe(env.Client("us-east-1", KeyB), ids: [snap])));
        // Removing (nothing) is allowed.
        await Share(a, snap, OperationType.Remove, users: [B]);
    }

    [Fact]
    public async Task EncryptedSnapshots_CannotBeMadePublic_ButACustomerKeyOneCanBeSharedWithAnAccount()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1", kmsKeyId: "alias/shareable");
        var byDefaultKey = env.SeedSnapshot("us-east-1", encrypted: true);
        var a = env.Client("us-east-1");

        var ex = await Expect.Ec2ErrorAsync(() => Share(a, snap, OperationType.Add, groups: ["all"]), "UnsupportedOperation", 400);
        Assert.Contains("publicly", ex.Message);
        await Expect.Ec2ErrorAsync(() => Share(a, byDefaultKey, OperationType.Add, groups: ["all"]), "UnsupportedOperation", 400);
        await Expect.Ec2ErrorAsync(() => ShareAsStructure(a, snap, add: [new CreateVolumePermission { Group = PermissionGroup.All }]),
            "UnsupportedOperation", 400);
        Assert.Empty(await Ids(Describe(env.Client("us-east-1", KeyC), restorableBy: ["all"])));

        await Share(a, snap, OperationType.Add, users: [B]);

        Assert.Equal([snap], await Ids(Describe(env.Client("us-east-1", KeyB))));
    }

    [Fact]
    public async Task OnlyTheOwner_ModifiesDescribesOrResetsTheAttribute_EvenWhenItIsSharedWithTheCaller()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");
        var b = env.Client("us-east-1", KeyB);
        await Share(env.Client("us-east-1"), snap, OperationType.Add, users: [B]);

        await Expect.Ec2ErrorAsync(() => Share(b, snap, OperationType.Add, users: [C]), "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => Permissions(b, snap), "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => b.ResetSnapshotAttributeAsync(new ResetSnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.CreateVolumePermission,
        }), "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => b.CreateTagsAsync(new CreateTagsRequest { Resources = [snap], Tags = [new Tag("k", "v")] }),
            "InvalidSnapshot.NotFound", 400);

        Assert.Equal([B], (await Permissions(env.Client("us-east-1"), snap)).CreateVolumePermissions.Select(p => p.UserId));
        Assert.Empty(await Ids(Describe(env.Client("us-east-1", KeyC), ids: [snap])));
    }

    [Fact]
    public async Task ModifySnapshotAttribute_RejectsWhatEc2Rejects_BeforeDryRun_AndChangesNothing()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");
        var a = env.Client("us-east-1");

        await Expect.Ec2ErrorAsync(() => ShareAsStructure(a, snap, add: [new CreateVolumePermission { UserId = B }],
            remove: [new CreateVolumePermission { UserId = C }]), "InvalidParameterCombination", 400);
        await Expect.Ec2ErrorAsync(() => Share(a, snap, OperationType.Add, users: ["2109-8765-4321"]), "InvalidParameterValue", 400);
        await Expect.Ec2ErrorAsync(() => Share(a, snap, OperationType.Add,
            users: Enumerable.Range(0, 501).Select(i => (100000000000L + i).ToString()).ToList()), "InvalidParameterValue", 400);
        await Expect.Ec2ErrorAsync(() => a.ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.ProductCodes, OperationType = OperationType.Add, UserIds = [B],
        }), "InvalidParameterValue", 400);
        await Expect.Ec2ErrorAsync(() => a.ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.CreateVolumePermission, OperationType = OperationType.Add,
        }), "MissingParameter", 400);
        await Expect.Ec2ErrorAsync(() => Share(a, "snap-0123456789abcdef0", OperationType.Add, users: [B]), "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => Share(a, "snap-nope", OperationType.Add, users: [B]), "InvalidSnapshotID.Malformed", 400);
        await Expect.Ec2ErrorAsync(() => a.ModifySnapshotAttributeAsync(new ModifySnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.CreateVolumePermission, OperationType = OperationType.Add,
            UserIds = [B], DryRun = true,
        }), "DryRunOperation", 412);

        Assert.Null((await Permissions(a, snap)).CreateVolumePermissions);
        Assert.Empty(await Ids(Describe(env.Client("us-east-1", KeyB))));

        // 500 is allowed; adding twice is no error and lists the account once.
        await Share(a, snap, OperationType.Add, users: Enumerable.Range(0, 500).Select(i => (100000000000L + i).ToString()).ToList());
        await Share(a, snap, OperationType.Add, users: [B]);
        await Share(a, snap, OperationType.Add, users: [B]);
        var users = (await Permissions(a, snap)).CreateVolumePermissions.Select(p => p.UserId).ToList();
        Assert.Equal(501, users.Count);
        Assert.Equal(B, users[^1]);
    }

    [Fact]
    public async Task DescribeSnapshotAttribute_ProductCodesAreEmpty_AttributeIsRequired()
    {
        await using var env = await StartAsync();
        var snap = env.SeedSnapshot("us-east-1");
        var a = env.Client("us-east-1");

        var codes = await a.DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.ProductCodes,
        });
        Assert.Equal(snap, codes.SnapshotId);
        Assert.Null(codes.ProductCodes);
        Assert.Null(codes.CreateVolumePermissions);
        await Expect.Ec2ErrorAsync(() => a.DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest { SnapshotId = snap }),
            "MissingParameter", 400);
        await Expect.Ec2ErrorAsync(() => a.ResetSnapshotAttributeAsync(new ResetSnapshotAttributeRequest
        {
            SnapshotId = snap, Attribute = SnapshotAttributeName.ProductCodes,
        }), "InvalidParameterValue", 400);
    }

    // ------------------------------------------------------------------ copies of shared snapshots

    [Fact]
    public async Task CopyOfASharedSnapshot_WithinTheRegion_IsTheCallersAndUnencryptedStaysUnencrypted()
    {
        await using var env = await StartAsync();
        var snap = env.Ec2.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, CreateVolumePermissionUserIds = [B] }).SnapshotIds.Single();
        var b = env.Client("us-east-1", KeyB);

        var id = (await b.CopyAsync("us-east-1", snap)).SnapshotId;
        env.Advance(TimeSpan.FromHours(1));

        var copy = await b.DescribeSnapshotAsync(id);
        Assert.Equal((B, SnapshotState.Completed, false), (copy.OwnerId, copy.State, copy.Encrypted ?? false));
        Assert.Empty(await Ids(Describe(env.Client("us-east-1"), ids: [id])));    // B's copy is not A's
        Assert.Equal(1, env.Ec2.GetStats().CopiesPerSourceAndDestination[$"us-east-1/{snap}"][$"{B}/us-east-1"]);
    }

    // ------------------------------------------------------------------ DeleteTags

    [Fact]
    public async Task DeleteTags_ByKey_ByKeyAndValue_ByEmptyValue_OrAll()
    {
        await using var env = await StartAsync();
        var tags = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "", ["d"] = "4", ["e"] = "5" };
        var snap = env.SeedSnapshot("us-east-1", tags: tags);
        var volume = env.SeedVolume("us-east-1");
        var ec2 = env.Client("us-east-1");
        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [volume], Tags = [new Tag("v", "1"), new Tag("w", "2")] });
        async Task<Dictionary<string, string>> TagsOf() => (await ec2.DescribeSnapshotAsync(snap)).Tags.TagMap();

        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag { Key = "a" }] });   // any value
        Assert.Equal(["b", "c", "d", "e"], (await TagsOf()).Keys.Order());
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag("b", "other"), new Tag("d", "4")] });
        Assert.Equal(["b", "c", "e"], (await TagsOf()).Keys.Order());                                              // b kept: its value differs
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag("b", ""), new Tag("c", "")] });
        Assert.Equal(["b", "e"], (await TagsOf()).Keys.Order());                                                   // only the empty-valued c
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag { Key = "never-there" }], DryRun = false });
        await Expect.Ec2ErrorAsync(() => ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag { Key = "b" }], DryRun = true }),
            "DryRunOperation", 412);
        Assert.Equal(["b", "e"], (await TagsOf()).Keys.Order());
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap, volume] });                             // no Tag.N: all of them
        Assert.Null((await ec2.DescribeSnapshotAsync(snap)).Tags);
        Assert.Null((await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [volume] })).Volumes.Single().Tags);

        var calls = env.Ec2.GetCalls("DeleteTags");
        Assert.Equal(("a", null), (calls[0].Get("Tag.1.Key"), calls[0].Get("Tag.1.Value")));                      // the wire shape
        Assert.Equal([snap, volume], calls[^1].GetList("ResourceId"));
        await Expect.Ec2ErrorAsync(() => ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = ["snap-0123456789abcdef0"] }),
            "InvalidSnapshot.NotFound", 400);
        await Expect.Ec2ErrorAsync(() => ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap], Tags = [new Tag { Key = "aws:x" }] }),
            "InvalidParameterValue", 400);
    }

    [Fact]
    public async Task DeleteTags_OfAnotherAccountsSnapshot_IsNotFound_EvenWhenShared()
    {
        await using var env = await StartAsync();
        var snap = env.Ec2.Seed(new SeedRequest
        {
            Region = "us-east-1", Snapshots = 1, Tags = new() { ["k"] = "v" }, CreateVolumePermissionUserIds = [B],
        }).SnapshotIds.Single();

        await Expect.Ec2ErrorAsync(() => env.Client("us-east-1", KeyB).DeleteTagsAsync(new DeleteTagsRequest { Resources = [snap] }),
            "InvalidSnapshot.NotFound", 400);

        Assert.Equal("v", (await env.Client("us-east-1").DescribeSnapshotAsync(snap)).Tags.TagMap()["k"]);
    }

    // ------------------------------------------------------------------ buckets

    [Fact]
    public async Task NewActions_DrawFromTheirOwnBuckets_WithEc2sSizes()
    {
        await using var env = await StartAsync();
        var buckets = env.Ec2.Config.Limits.Buckets;
        Assert.Equal((100, 5.0), (buckets["ModifySnapshotAttribute"].Burst, buckets["ModifySnapshotAttribute"].RefillPerSecond));
        Assert.Equal((50, 5.0), (buckets["ResetSnapshotAttribute"].Burst, buckets["ResetSnapshotAttribute"].RefillPerSecond));
        Assert.Equal((100, 20.0), (buckets["DescribeSnapshotAttribute"].Burst, buckets["DescribeSnapshotAttribute"].RefillPerSecond));
        Assert.Equal((100, 10.0), (buckets["DeleteTags"].Burst, buckets["DeleteTags"].RefillPerSecond));

        var snap = env.SeedSnapshot("us-east-1");
        var a = env.Client("us-east-1");
        env.Ec2.SpendTokens("ModifySnapshotAttribute", 100, "us-east-1");
        await Expect.Ec2ErrorAsync(() => Share(a, snap, OperationType.Add, users: [B]), "RequestLimitExceeded", 503);
        await Permissions(a, snap);                                         // another bucket
        env.AdvanceSeconds(0.25);                                           // one token at 5 a second
        await Share(a, snap, OperationType.Add, users: [B]);
    }
}
