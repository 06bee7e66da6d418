using Avtomat.Ec2.Emulator.Actions;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Creates resources directly, bypassing the EC2 rules (control API <c>/_emulator/seed</c>).</summary>
internal static class Seeder
{
    public static SeedResult Seed(EmulatorState state, SeedRequest request)
    {
        if (!state.IsKnownRegion(request.Region)) throw new ArgumentException($"Unknown region '{request.Region}'.");
        if (request.Snapshots < 0 || request.Volumes < 0) throw new ArgumentException("Counts must not be negative.");
        if (request.State is not ("completed" or "pending" or "error"))
            throw new ArgumentException("State must be completed, pending or error.");
        var account = request.AccountId ?? state.AccountFor(request.AccessKeyId);
        var region = state.Region(account, request.Region);
        var now = state.Now;
        var zone = request.AvailabilityZone ?? request.Region + "a";
        var type = request.VolumeType ?? "gp3";
        string? keyArn = request.Encrypted || request.KmsKeyId is not null
            ? request.KmsKeyId is null ? KmsKeys.DefaultKeyArn(account, request.Region) : KmsKeys.ResolveArn(request.KmsKeyId, account, request.Region)
            : null;
        int SizeAt(int i) => request.SizesGiB is { Count: > 0 } sizes ? sizes[i % sizes.Count] : request.SizeGiB;
        var result = new SeedResult();

        for (var i = 0; i < request.Volumes; i++)
        {
            var volume = VolumeActions.NewVolume(state, zone, SizeAt(i), type, now, 0, null, keyArn is not null, keyArn);
            AddTags(volume.Tags, request.Tags);
            region.Volumes.Add(volume.Id, volume);
            result.VolumeIds.Add(volume.Id);
        }

        for (var i = 0; i < request.Snapshots; i++)
        {
            var id = state.NewId("snap");
            var lifecycle = request.State switch
            {
                "pending" => SeedPending(state, now, SizeAt(i)),
                "error" => SnapshotLifecycle.Finished(now, "error", request.StatusMessage ?? SnapshotActions.SnapshotFailedMessage),
                _ => SnapshotLifecycle.Finished(now),
            };
            var snapshot = new SnapshotRecord
            {
                Id = id,
                OwnerId = account,
                Region = request.Region,
                // A seeded snapshot's volume need not exist (as in EC2 after the volume was deleted).
                VolumeId = request.VolumeId ?? state.NewId("vol"),
                VolumeSize = SizeAt(i),
                Description = request.Description,
                Encrypted = keyArn is not null,
                KmsKeyId = keyArn,
                OutpostArn = request.OutpostArn,
                StartTime = now,
                Sequence = state.NextSequence(),
                Lifecycle = lifecycle,
                VisibleFrom = now,
                LineageRoot = $"{request.Region}/{id}",
            };
            AddTags(snapshot.Tags, request.Tags);
            region.Snapshots.Add(id, snapshot);
            result.SnapshotIds.Add(id);
        }
        return result;
    }

    private static SnapshotLifecycle SeedPending(EmulatorState state, DateTimeOffset now, int size)
    {
        var seconds = Durations.Sample(state.Config.Durations.Snapshot, state.Random, size);
        return SnapshotActions.NewLifecycle(now, seconds, "completed", null, state.Random);
    }

    private static void AddTags(Dictionary<string, string> target, Dictionary<string, string>? tags)
    {
        if (tags is null) return;
        foreach (var (k, v) in tags) target[k] = v;
    }
}
