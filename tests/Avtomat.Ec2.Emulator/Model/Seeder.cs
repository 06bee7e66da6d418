using Avtomat.Ec2.Emulator.Actions;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Creates resources directly, bypassing the EC2 rules (control API <c>/_emulator/seed</c>).</summary>
internal static class Seeder
{
    public static SeedResult Seed(EmulatorState state, SeedRequest request)
    {
        if (!state.IsKnownRegion(request.Region)) throw new ArgumentException($"Unknown region '{request.Region}'.");
        if (request.Snapshots < 0 || request.Volumes < 0 || request.Instances < 0) throw new ArgumentException("Counts must not be negative.");
        if (request.DataVolumesPerInstance is < 0 or > 20) throw new ArgumentException("DataVolumesPerInstance must be 0..20.");
        if (request.InstanceState is not ("running" or "stopped")) throw new ArgumentException("InstanceState must be running or stopped.");
        if (request.State is not ("completed" or "pending" or "error"))
            throw new ArgumentException("State must be completed, pending or error.");
        var account = request.AccountId ?? state.AccountFor(request.AccessKeyId);
        var region = state.Region(account, request.Region);
        var now = state.Now;
        var zone = request.AvailabilityZone ?? request.Region + "a";
        var type = request.VolumeType ?? "gp3";
        string? keyArn = request.Encrypted || request.KmsKeyId is not null
            ? request.KmsKeyId is null ? region.DefaultEbsKeyArn : KmsKeys.ResolveArn(request.KmsKeyId, account, request.Region)
            : null;
        int SizeAt(int i) => request.SizesGiB is { Count: > 0 } sizes ? sizes[i % sizes.Count] : request.SizeGiB;
        // Sharing as EC2 allows it (SnapshotAttributeActions.ModifySnapshotAttribute): a state EC2 would refuse cannot be seeded.
        var shareWith = request.CreateVolumePermissionUserIds ?? [];
        foreach (var user in shareWith)
            if (!SnapshotActions.IsAccountId(user)) throw new ArgumentException($"'{user}' is not a 12-digit account id.");
        if (shareWith.Count > 0 && keyArn is not null && KmsKeys.IsAwsManaged(keyArn))
            throw new ArgumentException($"{SnapshotAttributeActions.DefaultKeyShareMessage} (give a customer key as kmsKeyId).");
        if (request.Public && keyArn is not null) throw new ArgumentException(SnapshotAttributeActions.EncryptedPublicMessage);
        var result = new SeedResult();

        for (var i = 0; i < request.Volumes; i++)
        {
            var volume = VolumeActions.NewVolume(state, zone, SizeAt(i), type, now, 0, null, keyArn is not null, keyArn);
            AddTags(volume.Tags, request.Tags);
            if (request.NamePrefix is not null) volume.Tags["Name"] = $"{request.NamePrefix}-{i + 1}";
            region.Volumes.Add(volume.Id, volume);
            result.VolumeIds.Add(volume.Id);
        }

        var reservationId = request.Instances > 0 ? state.NewId("r") : "";
        for (var i = 0; i < request.Instances; i++)
        {
            var instance = new InstanceRecord
            {
                Id = state.NewId("i"),
                ReservationId = reservationId,
                OwnerId = account,
                AvailabilityZone = zone,
                State = request.InstanceState,
                InstanceType = request.InstanceType,
                ImageId = "ami-0123456789abcdef0",
                LaunchTime = now,
                Sequence = state.NextSequence(),
            };
            if (request.InstanceTags is not null) AddTags(instance.Tags, request.InstanceTags);
            var name = request.NamePrefix is null ? null : $"{request.NamePrefix}-{i + 1}";
            if (name is not null) instance.Tags["Name"] = name;
            var volumes = new List<string>();
            for (var d = 0; d <= request.DataVolumesPerInstance; d++)
            {
                var root = d == 0;
                var volume = VolumeActions.NewVolume(state, zone, root ? request.RootSizeGiB : SizeAt(d - 1), root ? "gp3" : type,
                    now, 0, null, keyArn is not null, keyArn);
                AddTags(volume.Tags, request.Tags);
                if (name is not null) volume.Tags["Name"] = root ? $"{name}-root" : $"{name}-data{d}";
                volume.Attachment = new VolumeAttachmentRecord
                {
                    InstanceId = instance.Id,
                    Device = root ? instance.RootDeviceName : $"/dev/sd{(char)('f' + d - 1)}",
                    AttachTime = now,
                    DeleteOnTermination = root,
                };
                region.Volumes.Add(volume.Id, volume);
                instance.VolumeIds.Add(volume.Id);
                volumes.Add(volume.Id);
                result.VolumeIds.Add(volume.Id);
            }
            region.Instances.Add(instance.Id, instance);
            result.InstanceIds.Add(instance.Id);
            result.InstanceVolumeIds[instance.Id] = volumes;
        }

        if (request.DurationSeconds is < 0 or double.NaN) throw new ArgumentException("DurationSeconds must not be negative.");
        var sourceRegion = request.SourceRegion ?? request.Region;
        SnapshotRecord? source = null;
        if (request.SourceSnapshotId is { } sourceId)
        {
            if (!EmulatorState.SnapshotIdPattern().IsMatch(sourceId)) throw new ArgumentException($"Malformed SourceSnapshotId '{sourceId}'.");
            if (!state.IsKnownRegion(sourceRegion)) throw new ArgumentException($"Unknown region '{sourceRegion}'.");
            source = state.SnapshotIn(sourceRegion, sourceId); // the caller's own, or one shared with it
        }
        // Seeded copies are someone else's copies into this account and region: while pending they count against
        // "Concurrent snapshot copies per destination Region: 20, not adjustable" like our own
        // (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-resource-quotas.html). A copy's volume id is arbitrary
        // (API_CopySnapshot: "Snapshots copies have an arbitrary source volume ID").
        var isCopy = request.SourceSnapshotId is not null;
        var took = TimeSpan.FromSeconds(request.DurationSeconds ?? 0);
        for (var i = 0; i < request.Snapshots; i++)
        {
            var id = state.NewId("snap");
            var lifecycle = request.State switch
            {
                "pending" => SeedPending(state, isCopy ? state.Config.Durations.Copy : state.Config.Durations.Snapshot, now,
                    source?.VolumeSize ?? SizeAt(i), request.DurationSeconds),
                "error" => SnapshotLifecycle.Finished(now - took, now, "error", request.StatusMessage ?? SnapshotActions.SnapshotFailedMessage),
                _ => SnapshotLifecycle.Finished(now - took, now),
            };
            // A seeded snapshot's volume need not exist (as in EC2 after the volume was deleted).
            var volumeId = isCopy ? SnapshotActions.CopyVolumeId : request.VolumeId ?? state.NewId("vol");
            var snapshot = new SnapshotRecord
            {
                Id = id,
                OwnerId = account,
                Region = request.Region,
                VolumeId = volumeId,
                VolumeSize = source?.VolumeSize ?? SizeAt(i),
                Description = request.Description,
                Encrypted = keyArn is not null,
                KmsKeyId = keyArn,
                OutpostArn = request.OutpostArn,
                StartTime = lifecycle.Start,
                Sequence = state.NextSequence(),
                Lifecycle = lifecycle,
                VisibleFrom = now,
                LineageRoot = source?.LineageRoot ?? (isCopy ? $"{sourceRegion}/{request.SourceSnapshotId}" : $"{request.Region}/{id}"),
                LineageVolume = source?.LineageVolume ?? (isCopy ? $"{sourceRegion}/{request.SourceSnapshotId}" : $"{request.Region}/{volumeId}"),
                IsCopy = isCopy,
                SourceRegion = isCopy ? sourceRegion : null,
                SourceSnapshotId = request.SourceSnapshotId,
                TransferType = isCopy ? "standard" : null,
            };
            AddTags(snapshot.Tags, request.Tags);
            region.AddSnapshot(snapshot);
            foreach (var user in shareWith) state.Share(snapshot, user);
            if (request.Public) state.SetPublic(snapshot, true);
            result.SnapshotIds.Add(id);
        }
        return result;
    }

    /// <summary>See <see cref="Ec2Emulator.Duplicate"/>. CopySnapshot and CreateSnapshot take no client token
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html), so EC2 makes a second snapshot for
    /// a re-sent request; a re-sent CreateSnapshot within 15 s of the first meets SnapshotCreationPerVolumeRateExceeded
    /// (https://repost.aws/knowledge-center/ebs-snapshot-stuck: "wait 15 seconds between create-snapshot API requests
    /// for the same volume"), which is the caller's to respect here.</summary>
    public static string Duplicate(EmulatorState state, string snapshotId, TimeSpan after)
    {
        if (after < TimeSpan.Zero) throw new ArgumentException("A duplicate starts after its original.", nameof(after));
        if (state.FindSnapshot(snapshotId) is not var (region, original)) throw new ArgumentException($"No snapshot '{snapshotId}'.");
        var lifecycle = original.Lifecycle;
        var twin = new SnapshotRecord
        {
            Id = state.NewId("snap"),
            OwnerId = original.OwnerId,
            Region = original.Region,
            VolumeId = original.VolumeId,
            VolumeSize = original.VolumeSize,
            Description = original.Description,
            Encrypted = original.Encrypted,
            KmsKeyId = original.KmsKeyId,
            OutpostArn = original.OutpostArn,
            AvailabilityZone = original.AvailabilityZone,
            StartTime = original.StartTime + after,
            Sequence = state.NextSequence(),
            Lifecycle = new SnapshotLifecycle
            {
                Start = lifecycle.Start + after, End = lifecycle.End + after, FinalState = lifecycle.FinalState,
                FinalMessage = lifecycle.FinalMessage, Steps = lifecycle.Steps,
            },
            // Seen by DescribeSnapshots when the original is (a start time a moment ahead of the clock is no reason to hide it).
            VisibleFrom = original.VisibleFrom,
            IsCopy = original.IsCopy,
            LineageRoot = original.LineageRoot,
            LineageVolume = original.LineageVolume,
            SourceRegion = original.SourceRegion,
            SourceSnapshotId = original.SourceSnapshotId,
            TransferType = original.TransferType,
            CompletionDurationMinutes = original.CompletionDurationMinutes,
        };
        foreach (var (k, v) in original.Tags) twin.Tags[k] = v;
        region.AddSnapshot(twin);
        if (twin.IsCopy && twin.SourceSnapshotId is not null)
            state.Stats.Copy($"{twin.SourceRegion}/{twin.SourceSnapshotId}", region.Name, region.Key, region.PendingCopies(state.Now), twin.StartTime);
        if (state.Stats.CopyDetailOf(original.Id) is { } detail) // the re-sent request copies as the original did
            state.Stats.CopyDetail(twin.Id, new CopyStats
            {
                Source = detail.Source, Destination = detail.Destination, Kind = detail.Kind, Reason = detail.Reason,
                BaseSnapshotId = detail.BaseSnapshotId, LineageVolume = detail.LineageVolume, TransferredBytes = detail.TransferredBytes,
                StartTime = twin.StartTime, EndTime = twin.Lifecycle.End, TransferType = detail.TransferType,
                CompletionDurationMinutes = detail.CompletionDurationMinutes, TransferStart = detail.TransferStart + after,
                DueTime = detail.DueTime + after, RequiredMiBps = detail.RequiredMiBps, GrantedMiBps = detail.GrantedMiBps, Late = detail.Late,
            });
        return twin.Id;
    }

    private static SnapshotLifecycle SeedPending(EmulatorState state, DurationModel model, DateTimeOffset now, int size, double? given)
    {
        var seconds = given ?? Durations.Sample(model, state.Random, size);
        return SnapshotActions.NewLifecycle(now, seconds, "completed", null, state.Random);
    }

    private static void AddTags(Dictionary<string, string> target, Dictionary<string, string>? tags)
    {
        if (tags is null) return;
        foreach (var (k, v) in tags) target[k] = v;
    }
}
