using System.Text.RegularExpressions;
using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>CopySnapshot, CreateSnapshot, CreateSnapshots, DescribeSnapshots, DeleteSnapshot.</summary>
internal static partial class SnapshotActions
{
    /// <summary>The arbitrary volume id EC2 gives every copy.</summary>
    public const string CopyVolumeId = "vol-ffffffff";
    public const string KeyNotAccessibleMessage = "Given key ID is not accessible";
    // Plausible texts (unverified): EC2 does not document the statusMessage of a failed copy/snapshot.
    public const string CopyFailedMessage = "Snapshot copy failed due to an internal error";
    public const string SnapshotFailedMessage = "Snapshot creation failed due to an internal error";

    [GeneratedRegex(@"^arn:aws:outposts:([a-z0-9-]+):(\d{12}):outpost/op-[0-9a-f]{17}$", RegexOptions.CultureInvariant)]
    private static partial Regex OutpostArnPattern();

    // ---------------------------------------------------------------- CopySnapshot

    public static void CopySnapshot(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var destination = c.Region.Name;
        var sourceRegion = r.Require("SourceRegion");
        var sourceId = r.Require("SourceSnapshotId");
        if (!c.State.IsKnownRegion(sourceRegion))
            throw Ec2Error.InvalidValue("SourceRegion", sourceRegion, "The source region is not valid.");
        ValidateSnapshotId(sourceId);
        var destinationRegion = r.GetNonEmpty("DestinationRegion");
        if (destinationRegion is not null && destinationRegion != destination)
            throw Ec2Error.InvalidParameterValue(
                $"The destination region '{destinationRegion}' does not match the region of the request endpoint '{destination}'.");
        _ = r.GetNonEmpty("PresignedUrl"); // accepted, not verified (the SDK always sends one)
        var description = r.Get("Description");
        Query.ValidateDescription(description);
        var encryptedFlag = r.GetBool("Encrypted");
        var kmsKeyId = r.GetNonEmpty("KmsKeyId");
        var tags = r.GetTagSpecifications("snapshot");
        Query.ValidateTags(tags);
        var minutes = r.GetInt("CompletionDurationMinutes");
        if (minutes is not null && (minutes < 15 || minutes > 2880 || minutes % 15 != 0))
            throw Ec2Error.InvalidParameterValue(
                $"Value ({minutes}) for parameter CompletionDurationMinutes is invalid. The value must be between 15 and 2880, in increments of 15.");
        var outpostArn = r.GetNonEmpty("DestinationOutpostArn");
        if (outpostArn is not null) ValidateOutpostArn(outpostArn, destination, "DestinationOutpostArn");
        var localZone = r.GetNonEmpty("DestinationAvailabilityZone");
        if (localZone is not null && !IsLocalZoneOf(localZone, destination))
            throw Ec2Error.InvalidValue("DestinationAvailabilityZone", localZone,
                $"The Availability Zone must be a Local Zone of {destination}.");
        if (localZone is not null && outpostArn is not null)
            throw Ec2Error.BadRequest("InvalidParameterCombination",
                "The parameters DestinationOutpostArn and DestinationAvailabilityZone cannot be used together.");

        // "You can copy snapshots that you own and snapshots that are shared with you, privately or publicly"
        // (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html): a source of another account that is
        // not shared with the caller is as missing as one that does not exist (same error as today's).
        if (c.State.SnapshotIn(sourceRegion, sourceId) is not { } source || !source.CanBeSeenBy(c.Account))
            throw Ec2Error.SnapshotNotFound(sourceId);
        if (source.OutpostArn is not null) // EBS: snapshots on an Outpost cannot be copied (error code plausible, unverified)
            throw Ec2Error.BadRequest("UnsupportedOperation", $"The snapshot '{sourceId}' is on an Outpost and cannot be copied.");
        var (sourceStatus, _, _) = source.StateAt(c.Now);
        if (sourceStatus != "completed") // code and wording plausible (unverified)
            throw Ec2Error.BadRequest("IncorrectState", $"Snapshot is in invalid state - {sourceStatus}");
        if (kmsKeyId is not null && !encryptedFlag && !source.Encrypted) // code and wording plausible (unverified)
            throw Ec2Error.BadRequest("InvalidParameterDependency",
                "The parameter KmsKeyId requires the parameter Encrypted to be set.");

        c.StopIfDryRun();

        var pendingCopies = c.Region.PendingCopies(c.Now);
        var maxCopies = c.Config.Limits.MaxPendingCopiesPerRegion;
        if (maxCopies > 0 && pendingCopies >= maxCopies)
            throw Ec2Error.BadRequest("ResourceLimitExceeded",
                $"Too many snapshot copies in progress. The limit is {maxCopies} for this destination region.");

        // Encryption: encrypted source ⇒ encrypted copy; Outposts always encrypt; with EBS encryption by default on in
        // the destination every copy is encrypted ("To encrypt a copy of an unencrypted snapshot if encryption by default
        // is not enabled, enable encryption using this parameter",
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html; "enforce the encryption of the new
        // EBS volumes and snapshot copies that you create",
        // https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html). Keys are regional, so without a
        // KmsKeyId a same-region copy of the caller's own snapshot keeps the source key (plausible) and anything else gets
        // the caller's default KMS key for EBS in the destination ("If this parameter is not specified, your KMS key for
        // Amazon EBS is used", API_CopySnapshot; the AWS managed aws/ebs unless ModifyEbsDefaultKmsKeyId chose another) —
        // for a shared source the caller's own, since the owner's key is not the caller's to pick.
        var sameRegion = sourceRegion == destination;
        var encrypted = source.Encrypted || encryptedFlag || outpostArn is not null || c.Region.EbsEncryptionByDefault;
        var kms = c.State.Kms;
        string? keyArn = null;
        var keyFails = false;
        if (encrypted)
        {
            if (kmsKeyId is not null)
            {
                // A KmsKeyId of another account must be granted to the caller (KmsRegistry.CanUse).
                keyArn = KmsKeys.ResolveArn(kmsKeyId, c.Account, destination);
                keyFails = !KmsKeys.IsWellFormed(kmsKeyId) || KmsKeys.RegionOf(keyArn) != destination
                    || IsInaccessible(kmsKeyId, c.Account, destination, c.Config) || !kms.CanUse(c.Account, keyArn);
            }
            else if (source.Encrypted && sameRegion && source.OwnerId == c.Account) keyArn = source.KmsKeyId;
            else
            {
                keyArn = c.Region.DefaultEbsKeyArn;
                // A customer default key that cannot be used fails the copy as a given one would.
                keyFails = KmsKeys.RegionOf(keyArn) != destination || IsInaccessible(keyArn, c.Account, destination, c.Config) || !kms.CanUse(c.Account, keyArn);
            }
        }
        // Decrypting the source needs its key too: "if you attempt to copy an encrypted snapshot without having
        // permissions to use the encryption key, the operation fails silently and the snapshot copy receives the 'Given
        // key ID is not accessible' status message" (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html).
        if (source.KmsKeyId is not null
            && (IsInaccessible(source.KmsKeyId, c.Account, sourceRegion, c.Config) || !kms.CanUse(c.Account, source.KmsKeyId)))
            keyFails = true;

        // Full or incremental, and the bytes moved, by EC2's rules (CopyTransfer.Decide).
        var transfer = CopyTransfer.Decide(c.Region, source, encrypted ? keyArn : null, c.Now, c.Config.Durations);

        // Duration: DurationOf when set, else full copy, ×cross-region, ×incremental for an incremental copy across regions
        // or accounts; a time-based copy completes within its duration unless the throughput quotas make it late.
        var random = c.State.Random;
        var durations = c.Config.Durations;
        var lineage = source.LineageRoot;
        var info = Info(c, true, sourceRegion, sourceId, source.VolumeId, source.VolumeSize, "CopySnapshot", description, tags, minutes);
        var given = info is null ? null : c.State.Options.DurationOf?.Invoke(info);
        double seconds;
        if (given is { } fixedSeconds) seconds = Math.Max(0, fixedSeconds);
        else
        {
            seconds = Durations.Sample(durations.Copy, random, source.VolumeSize);
            if (!sameRegion || outpostArn is not null) seconds *= durations.CrossRegionFactor;
            if (transfer.Kind == CopyTransfer.Incremental && !transfer.SamePlace) seconds *= durations.IncrementalFactor;
        }
        CopyTransfer.TimeBased? timeBased = null;
        if (minutes is not null)
        {
            timeBased = CopyTransfer.Admit(c.State, c.Account, sourceRegion, sourceId, destination, transfer.TransferredBytes,
                minutes.Value, seconds, c.Now);
            seconds = timeBased.Seconds;
        }
        var shape = Shape(c, info);

        string finalState = "completed";
        string? finalMessage = null;
        if (shape?.FinalState is { } shapedState)
            (finalState, finalMessage) = (shapedState, shapedState == "error" ? shape.StatusMessage ?? CopyFailedMessage : null);
        else if (keyFails)
        {
            (finalState, finalMessage) = ("error", KeyNotAccessibleMessage);
            seconds = Math.Min(seconds, Math.Max(1, seconds * 0.1)); // KMS failures surface early
        }
        else if (c.State.Chance(c.Config.Faults.CopyErrorRate))
        {
            (finalState, finalMessage) = ("error", CopyFailedMessage);
            seconds *= 0.2 + random.NextDouble() * 0.8;
            c.State.Stats.Fault("CopyError");
        }
        if (shape?.DurationSeconds is { } shapedSeconds) seconds = shapedSeconds;

        var copy = new SnapshotRecord
        {
            Id = c.State.NewId("snap"),
            OwnerId = c.Account,
            Region = destination,
            VolumeId = CopyVolumeId,
            VolumeSize = source.VolumeSize,
            Description = description,
            Encrypted = encrypted,
            KmsKeyId = keyArn,
            OutpostArn = outpostArn,
            AvailabilityZone = localZone,
            StartTime = c.Now,
            Sequence = c.State.NextSequence(),
            Lifecycle = NewLifecycle(c.Now, seconds, finalState, finalMessage, random),
            VisibleFrom = VisibleFrom(c, shape),
            IsCopy = true,
            LineageRoot = lineage,
            LineageVolume = source.LineageVolume,
            SourceRegion = sourceRegion,
            SourceSnapshotId = sourceId,
            TransferType = minutes is null ? "standard" : "time-based",
            CompletionDurationMinutes = minutes,
        };
        Query.ApplyTags(copy.Tags, tags);
        c.Region.AddSnapshot(copy);
        c.CreatedSnapshotIds.Add(copy.Id);
        c.State.Stats.Copy($"{sourceRegion}/{sourceId}", destination, c.Region.Key, c.Region.PendingCopies(c.Now), c.Now);
        if (timeBased is not null)
            CopyTransfer.Commit(c.State, c.Account, sourceRegion, sourceId, destination, timeBased, copy.Lifecycle.End, c.Now);
        c.State.Stats.CopyDetail(copy.Id, new CopyStats
        {
            Source = $"{sourceRegion}/{sourceId}", Destination = c.Region.Key, Kind = transfer.Kind, Reason = transfer.Reason,
            BaseSnapshotId = transfer.BaseSnapshotId, LineageVolume = source.LineageVolume, TransferredBytes = transfer.TransferredBytes,
            StartTime = copy.StartTime, EndTime = copy.Lifecycle.End, TransferType = copy.TransferType!,
            CompletionDurationMinutes = minutes, TransferStart = timeBased?.TransferStart, DueTime = timeBased?.Due,
            RequiredMiBps = timeBased?.RequiredMiBps, GrantedMiBps = timeBased?.GrantedMiBps,
            Late = timeBased is not null && copy.Lifecycle.End > timeBased.Due,
        });

        x.Element("snapshotId", copy.Id).TagSet(copy.Tags);
    }

    private static bool IsInaccessible(string keyId, string account, string region, EmulatorConfig config)
    {
        if (config.Faults.InaccessibleKmsKeys.Count == 0) return false;
        var identities = KmsKeys.Identities(keyId, account, region);
        return config.Faults.InaccessibleKmsKeys.Any(k => KmsKeys.Identities(k, account, region).Overlaps(identities));
    }

    // ---------------------------------------------------------------- CreateSnapshot

    public static void CreateSnapshot(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var volumeId = r.Require("VolumeId");
        VolumeActions.ValidateVolumeId(volumeId);
        var description = r.Get("Description");
        Query.ValidateDescription(description);
        var outpostArn = ReadSnapshotPlacement(c);
        var tags = r.GetTagSpecifications("snapshot");
        Query.ValidateTags(tags);
        if (!c.Region.Volumes.TryGetValue(volumeId, out var volume)) throw Ec2Error.VolumeNotFound(volumeId);
        RequireSnapshottable(c, volume);

        c.StopIfDryRun();

        CheckVolumeRules(c, volume);
        var snapshot = NewVolumeSnapshot(c, volume, description, outpostArn, tags);
        WriteSnapshot(x, snapshot, c.Now);
    }

    // ---------------------------------------------------------------- CreateSnapshots

    /// <summary>CreateSnapshots: one crash-consistent set (same start time) of the volumes attached to an instance.
    /// All or nothing: a per-volume rule broken by any volume fails the whole call.</summary>
    public static void CreateSnapshots(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var instanceId = r.Require("InstanceSpecification.InstanceId");
        InstanceActions.ValidateInstanceId(instanceId);
        var excludeBoot = r.GetBool("InstanceSpecification.ExcludeBootVolume");
        var excluded = r.GetList("InstanceSpecification.ExcludeDataVolumeId");
        if (excluded.Count > 40) // wording plausible (unverified)
            throw Ec2Error.InvalidParameterValue("You can specify up to 40 volume IDs in ExcludeDataVolumeIds.");
        foreach (var id in excluded) VolumeActions.ValidateVolumeId(id);
        var description = r.Get("Description");
        Query.ValidateDescription(description);
        var outpostArn = ReadSnapshotPlacement(c);
        var copyTags = r.GetNonEmpty("CopyTagsFromSource");
        if (copyTags is not null && copyTags != "volume")
            throw Ec2Error.InvalidValue("CopyTagsFromSource", copyTags, "Expecting 'volume'.");
        var tags = r.GetTagSpecifications("snapshot");
        Query.ValidateTags(tags);

        if (!c.Region.Instances.TryGetValue(instanceId, out var instance)) throw Ec2Error.InstanceNotFound([instanceId]);
        var attached = instance.VolumeIds.Select(id => c.Region.Volumes[id]).ToList();
        var root = attached.FirstOrDefault(v => v.Attachment?.Device == instance.RootDeviceName);
        foreach (var id in excluded)
        {
            // Both codes and wordings plausible (unverified): EC2 documents only that naming the root volume fails.
            if (root is not null && id == root.Id)
                throw Ec2Error.InvalidParameterValue(
                    $"The volume '{id}' is the root volume of instance '{instanceId}'. Use ExcludeBootVolume to exclude it.");
            if (!attached.Any(v => v.Id == id))
                throw Ec2Error.InvalidParameterValue($"The volume '{id}' is not attached to instance '{instanceId}'.");
        }
        var included = attached.Where(v => !(excludeBoot && v == root) && !excluded.Contains(v.Id)).ToList();
        foreach (var volume in included) RequireSnapshottable(c, volume);

        c.StopIfDryRun();

        foreach (var volume in included) CheckVolumeRules(c, volume); // before creating any: all or nothing
        var snapshots = included.Select(volume =>
        {
            List<KeyValuePair<string, string>> volumeTags = copyTags is null ? [] : volume.Tags.ToList();
            // Tags from TagSpecification win over copied volume tags with the same key (plausible, unverified).
            var merged = volumeTags.Where(t => !tags.Any(s => s.Key == t.Key)).Concat(tags).ToList();
            return NewVolumeSnapshot(c, volume, description, outpostArn, merged);
        }).ToList();

        if (snapshots.Count == 0) { x.Empty("snapshotSet"); return; }
        x.Open("snapshotSet");
        foreach (var s in snapshots)
        {
            var (state, percent, _) = s.StateAt(c.Now);
            // The SnapshotInfo shape: "state", not DescribeSnapshots' "status"; no kmsKeyId or statusMessage.
            x.Open("item")
                .Element("description", s.Description ?? "")
                .TagSet(s.Tags)
                .Element("encrypted", s.Encrypted)
                .Element("volumeId", s.VolumeId)
                .Element("state", state)
                .Element("volumeSize", s.VolumeSize)
                .Element("startTime", s.StartTime)
                .Element("progress", $"{percent}%")
                .Element("ownerId", s.OwnerId)
                .Element("snapshotId", s.Id)
                .Element("outpostArn", s.OutpostArn)
                .Close("item");
        }
        x.Close("snapshotSet");
    }

    /// <summary>OutpostArn and Location of CreateSnapshot(s); returns the validated Outpost ARN.</summary>
    private static string? ReadSnapshotPlacement(ActionContext c)
    {
        var outpostArn = c.Request.GetNonEmpty("OutpostArn");
        if (outpostArn is not null) ValidateOutpostArn(outpostArn, c.Region.Name, "OutpostArn");
        var location = c.Request.GetNonEmpty("Location");
        if (location is not null && location is not ("regional" or "local"))
            throw Ec2Error.InvalidValue("Location", location, "Expecting 'regional' or 'local'.");
        return outpostArn;
    }

    private static void RequireSnapshottable(ActionContext c, VolumeRecord volume)
    {
        if (volume.StateAt(c.Now) == "creating") // plausible (unverified)
            throw Ec2Error.BadRequest("IncorrectState", $"The volume '{volume.Id}' is not in the 'available' or 'in-use' state.");
    }

    /// <summary>EC2's per-volume rules: pending snapshots (and those in error) count against the concurrency limit
    /// (5, or 1 for st1/sc1), and two snapshots of one volume must start at least 15 s apart.</summary>
    private static void CheckVolumeRules(ActionContext c, VolumeRecord volume)
    {
        var limits = c.Config.Limits;
        var active = c.Region.Snapshots.Values.Count(s => s.VolumeId == volume.Id && !s.IsCopy && s.StateAt(c.Now).State != "completed");
        var limit = volume.IsThroughputOptimized ? limits.MaxPendingSnapshotsPerThroughputVolume : limits.MaxPendingSnapshotsPerVolume;
        if (limit > 0 && active >= limit)
        {
            c.State.Stats.VolumeRuleRejection();
            throw Ec2Error.BadRequest("ConcurrentSnapshotLimitExceeded",
                $"Maximum number of in-progress snapshots ({limit}) reached for volume '{volume.Id}'.");
        }
        if (limits.MinSecondsBetweenVolumeSnapshots > 0 && c.Region.LastSnapshotPerVolume.TryGetValue(volume.Id, out var last)
            && (c.Now - last).TotalSeconds < limits.MinSecondsBetweenVolumeSnapshots)
        {
            c.State.Stats.VolumeRuleRejection();
            throw Ec2Error.BadRequest("SnapshotCreationPerVolumeRateExceeded",
                "The maximum per volume CreateSnapshot request rate has been exceeded. Use an increasing or variable sleep interval between requests.");
        }
    }

    /// <summary>Creates a pending snapshot of <paramref name="volume"/> now (rules already checked) and counts it.</summary>
    private static SnapshotRecord NewVolumeSnapshot(ActionContext c, VolumeRecord volume, string? description, string? outpostArn,
        IEnumerable<KeyValuePair<string, string>> tags)
    {
        var random = c.State.Random;
        var tagList = tags.ToList();
        var info = Info(c, false, null, null, volume.Id, volume.Size, c.Request.GetNonEmpty("Action") ?? "CreateSnapshot", description, tagList, null);
        var seconds = (info is null ? null : c.State.Options.DurationOf?.Invoke(info))
            is { } given ? Math.Max(0, given) : Durations.Sample(c.Config.Durations.Snapshot, random, volume.Size);
        var shape = Shape(c, info);
        var (finalState, finalMessage) = ("completed", (string?)null);
        if (shape?.FinalState is { } shapedState)
            (finalState, finalMessage) = (shapedState, shapedState == "error" ? shape.StatusMessage ?? SnapshotFailedMessage : null);
        else if (c.State.Chance(c.Config.Faults.SnapshotErrorRate))
        {
            (finalState, finalMessage) = ("error", SnapshotFailedMessage);
            seconds *= 0.2 + random.NextDouble() * 0.8;
            c.State.Stats.Fault("SnapshotError");
        }
        if (shape?.DurationSeconds is { } shapedSeconds) seconds = shapedSeconds;
        var id = c.State.NewId("snap");
        var snapshot = new SnapshotRecord
        {
            Id = id,
            OwnerId = c.Account,
            Region = c.Region.Name,
            VolumeId = volume.Id,
            VolumeSize = volume.Size,
            Description = description,
            // A snapshot is encrypted as its volume is, with its key: encryption by default does not change it ("Enabling
            // encryption by default has no effect on the encryption status of your existing volumes",
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableEbsEncryptionByDefault.html; it enforces
            // encryption of "the new EBS volumes and snapshot copies that you create",
            // https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html).
            Encrypted = volume.Encrypted,
            KmsKeyId = volume.KmsKeyId,
            OutpostArn = outpostArn,
            StartTime = c.Now,
            Sequence = c.State.NextSequence(),
            Lifecycle = NewLifecycle(c.Now, seconds, finalState, finalMessage, random),
            VisibleFrom = VisibleFrom(c, shape),
            LineageRoot = $"{c.Region.Name}/{id}",
            LineageVolume = $"{c.Region.Name}/{volume.Id}",
        };
        Query.ApplyTags(snapshot.Tags, tagList);
        c.Region.AddSnapshot(snapshot);
        c.CreatedSnapshotIds.Add(id);
        double? gap = c.Region.LastSnapshotPerVolume.TryGetValue(volume.Id, out var previous) ? (c.Now - previous).TotalSeconds : null;
        c.Region.LastSnapshotPerVolume[volume.Id] = c.Now;
        c.State.Stats.VolumeSnapshot(volume.Id,
            c.Region.Snapshots.Values.Count(s => s.VolumeId == volume.Id && !s.IsCopy && s.IsPending(c.Now)),
            gap, c.Now, snapshot.Lifecycle.End);
        return snapshot;
    }

    // ---------------------------------------------------------------- DescribeSnapshots

    private static readonly HashSet<string> SnapshotFilters = new(StringComparer.Ordinal)
    {
        "snapshot-id", "status", "volume-id", "owner-id", "owner-alias", "description", "encrypted", "progress",
        "start-time", "tag-key", "tag-value", "kms-key-id", "volume-size", "storage-tier", "outpost-arn", "transfer-type",
    };

    /// <summary>EC2 gives filtered or paginated DescribeSnapshots a larger bucket than a bare "list everything".</summary>
    public static string DescribeSnapshotsBucket(Ec2Request r) =>
        r.HasAny("Filter") || r.HasAny("SnapshotId") || r.HasAny("Owner") || r.HasAny("RestorableBy")
        || r.Has("MaxResults") || r.Has("NextToken")
            ? "DescribeSnapshots"
            : "DescribeSnapshots.Unfiltered";

    public static void DescribeSnapshots(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var ids = r.GetList("SnapshotId");
        var scope = SnapshotScope.Read(r, c.Account);
        var filters = r.GetFilters();
        Query.ValidateFilterNames(filters, SnapshotFilters);
        if (r.GetNonEmpty("MaxResults") is not null && ids.Count > 0) // wording plausible (unverified)
            throw Ec2Error.BadRequest("InvalidParameterCombination",
                "The parameter snapshotIdSet cannot be used with the parameter maxResults");
        var maxResults = Query.MaxResults(r, 5, 1000);
        var nextToken = r.GetNonEmpty("NextToken");
        foreach (var id in ids) ValidateSnapshotId(id);
        c.StopIfDryRun();

        // Ids asked for by SnapshotId.N or by a snapshot-id filter without wildcards are looked up, not scanned for: the
        // same items in the same order, at a cost that does not grow with the region's snapshot count.
        var now = c.Now;
        var caller = c.Account;
        var region = c.Region.Name;
        IEnumerable<SnapshotRecord> visible;
        var idFilter = filters.FirstOrDefault(f => f.Name == "snapshot-id");
        if (ids.Count > 0)
        {
            // API_DescribeSnapshots: "If you specify an invalid snapshot ID, an error is returned. If you specify a
            // snapshot ID for which you do not have access, it is not included in the returned results." So an id that
            // exists nowhere in this region fails the whole call, and another account's snapshot not shared with the
            // caller is left out. One the caller may see but that has not propagated yet is missing (eventual consistency).
            var found = new List<SnapshotRecord>(ids.Count);
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                var s = c.State.SnapshotIn(region, id) ?? throw Ec2Error.SnapshotNotFound(id);
                if (!s.CanBeSeenBy(caller)) continue;
                if (s.VisibleFrom > now) throw Ec2Error.SnapshotNotFound(id);
                found.Add(s);
            }
            visible = found;
        }
        else if (idFilter is not null && !idFilter.Values.Any(Query.IsWildcard))
            visible = idFilter.Values.Distinct(StringComparer.Ordinal).Select(id => c.State.SnapshotIn(region, id))
                .OfType<SnapshotRecord>().Where(s => s.CanBeSeenBy(caller) && s.VisibleFrom <= now);
        else visible = scope.Candidates(c).Where(s => s.VisibleFrom <= now);
        var lookedUp = ids.Count > 0 || idFilter is not null && !idFilter.Values.Any(Query.IsWildcard);
        if (lookedUp || !scope.CandidatesAllMatch) visible = visible.Where(scope.Matches);

        // Tags of another account's snapshot are its owner's: the emulator shows them to the owner only (EC2's
        // documentation does not say what a recipient sees; the engine must not rely on them either way).
        IReadOnlyDictionary<string, string> TagsSeen(SnapshotRecord s) => s.OwnerId == caller ? s.Tags : NoTags;
        // Filtered first, then put in creation order: the same items in the same order, without sorting the whole region
        // for a filter that matches a few.
        var matched = Query.ApplyFilters(visible, filters, (s, name) => SnapshotFilterValues(s, TagsSeen(s), name, now), TagsSeen)
            .OrderBy(s => s.Sequence).ToList();
        var (page, token) = Query.Page(matched, s => s.Sequence, maxResults, nextToken, "snap");

        if (page.Count == 0) x.Empty("snapshotSet");
        else
        {
            x.Open("snapshotSet");
            foreach (var s in page) { x.Open("item"); WriteSnapshot(x, s, now, TagsSeen(s)); x.Close("item"); }
            x.Close("snapshotSet");
        }
        x.Element("nextToken", token);
    }

    private static readonly IReadOnlyDictionary<string, string> NoTags = new Dictionary<string, string>();

    /// <summary>DescribeSnapshots' <c>Owner.N</c> and <c>RestorableBy.N</c>
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html), both over the snapshots the
    /// caller may see. Owner: "Scopes the results to snapshots with the specified owners. You can specify a combination of
    /// AWS account IDs, self, and amazon." RestorableBy: "AWS account IDs (if you own the snapshots), self for snapshots
    /// for which you own or have explicit permissions, or all for public snapshots". How the two combine is not
    /// documented: both must hold (the natural reading). Amazon's own snapshots do not exist here, so <c>amazon</c>
    /// matches none.</summary>
    private sealed class SnapshotScope
    {
        private readonly string _caller;
        /// <summary>Owner account ids; null: any owner.</summary>
        private HashSet<string>? _owners;
        private bool _restorable, _restorableBySelf, _restorableByAll;
        /// <summary>RestorableBy account ids other than the caller's; null when none was given.</summary>
        private HashSet<string>? _restorableByAccounts;

        private SnapshotScope(string caller) => _caller = caller;

        public static SnapshotScope Read(Ec2Request r, string caller)
        {
            var scope = new SnapshotScope(caller);
            var owners = r.GetList("Owner");
            if (owners.Count > 0)
            {
                scope._owners = new HashSet<string>(StringComparer.Ordinal);
                foreach (var owner in owners)
                {
                    if (owner == "self") scope._owners.Add(caller);
                    else if (IsAccountId(owner)) scope._owners.Add(owner);
                    else if (owner != "amazon") throw InvalidUserId(owner);
                }
            }
            foreach (var user in r.GetList("RestorableBy"))
            {
                scope._restorable = true;
                // The caller's own id reads as self (plausible, unverified: the docs name ids "if you own the snapshots").
                if (user == "self" || user == caller) scope._restorableBySelf = true;
                else if (user == "all") scope._restorableByAll = true;
                else if (IsAccountId(user)) (scope._restorableByAccounts ??= new(StringComparer.Ordinal)).Add(user);
                else throw InvalidUserId(user);
            }
            return scope;
        }

        // InvalidUserID.Malformed, "The specified user or owner is not valid", is documented for DescribeSnapshots'
        // owner and restorableBy (https://docs.aws.amazon.com/ec2/latest/devguide/errors-overview.html); the message is
        // plausible (unverified).
        private static Ec2Error InvalidUserId(string value) =>
            Ec2Error.BadRequest("InvalidUserID.Malformed", $"User ID '{value}' is invalid");

        private bool OwnOnly => _owners is not null && _owners.All(o => o == _caller);
        private bool OwnIncluded => _owners is null || _owners.Contains(_caller);

        /// <summary>What the caller may see in its region before the scope is applied, without scanning other accounts:
        /// its own snapshots, those shared with it by name (its "shared with me" index) and the region's public ones.</summary>
        public IEnumerable<SnapshotRecord> Candidates(ActionContext c)
        {
            IEnumerable<SnapshotRecord> own = OwnIncluded ? c.Region.Snapshots.Values : [];
            if (OwnOnly) return own;
            var region = c.Region.Name;
            var sharedIds = c.Region.SharedWithMe;
            var publicOnes = c.State.PublicSnapshots(region).Where(s => s.OwnerId != _caller && !sharedIds.Contains(s.Id));
            if (sharedIds.Count == 0) return own.Concat(publicOnes);
            return own.Concat(sharedIds.Select(id => c.State.SnapshotIn(region, id)!)).Concat(publicOnes);
        }

        /// <summary>True when every snapshot <see cref="Candidates"/> gives matches (no Owner.N, or only the caller's, and
        /// no RestorableBy.N): the common "my snapshots" call checks nothing per snapshot.</summary>
        public bool CandidatesAllMatch => !_restorable && (_owners is null || OwnOnly);

        public bool Matches(SnapshotRecord s)
        {
            if (_owners is not null && !_owners.Contains(s.OwnerId)) return false;
            if (!_restorable) return true;
            var own = s.OwnerId == _caller;
            return _restorableBySelf && (own || s.IsExplicitlySharedWith(_caller))
                || _restorableByAll && s.CreateVolumePublic
                || _restorableByAccounts is not null && own && _restorableByAccounts.Any(s.IsExplicitlySharedWith);
        }
    }

    /// <summary>A 12-digit AWS account id.</summary>
    public static bool IsAccountId(string value) => value.Length == 12 && value.All(char.IsAsciiDigit);

    private static IEnumerable<string?> SnapshotFilterValues(SnapshotRecord s, IReadOnlyDictionary<string, string> tags, string name,
        DateTimeOffset now)
    {
        var tagValues = Query.TagFilterValues(tags, name);
        if (tagValues is not null) return tagValues;
        var (state, percent, _) = s.StateAt(now);
        return name switch
        {
            "snapshot-id" => [s.Id],
            "status" => [state],
            "volume-id" => [s.VolumeId],
            "owner-id" => [s.OwnerId],
            "owner-alias" => [],
            "description" => [s.Description ?? ""],
            "encrypted" => [Query.Bool(s.Encrypted)],
            "progress" => [$"{percent}%"],
            "start-time" => [XmlOut.FormatTime(s.StartTime)],
            "kms-key-id" => [s.KmsKeyId],
            "volume-size" => [s.VolumeSize.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            "storage-tier" => [s.StorageTier],
            "outpost-arn" => [s.OutpostArn],
            "transfer-type" => [s.TransferType],
            _ => [],
        };
    }

    // ---------------------------------------------------------------- DeleteSnapshot

    public static void DeleteSnapshot(ActionContext c, XmlOut x)
    {
        var id = c.Request.Require("SnapshotId");
        ValidateSnapshotId(id);
        if (!c.Region.Snapshots.ContainsKey(id)) throw Ec2Error.SnapshotNotFound(id);
        c.StopIfDryRun();
        c.Region.RemoveSnapshot(id); // and every permission on it
        x.Element("return", true);
    }

    // ---------------------------------------------------------------- shared

    /// <summary>The Snapshot shape (DescribeSnapshots item, CreateSnapshot response), with the tags the caller sees
    /// (default: all of them).</summary>
    public static void WriteSnapshot(XmlOut x, SnapshotRecord s, DateTimeOffset now, IReadOnlyDictionary<string, string>? tags = null)
    {
        var (state, percent, message) = s.StateAt(now);
        x.Element("snapshotId", s.Id)
            .Element("volumeId", s.VolumeId)
            .Element("status", state)
            .Element("statusMessage", message)
            .Element("startTime", s.StartTime)
            .Element("progress", $"{percent}%")
            .Element("ownerId", s.OwnerId)
            .Element("volumeSize", s.VolumeSize)
            .Element("description", s.Description ?? "")
            .Element("encrypted", s.Encrypted)
            .Element("kmsKeyId", s.KmsKeyId)
            .TagSet(tags ?? s.Tags)
            .Element("storageTier", s.StorageTier)
            .Element("outpostArn", s.OutpostArn)
            .Element("availabilityZone", s.AvailabilityZone)
            .Element("transferType", s.TransferType)
            .Element("completionDurationMinutes", s.CompletionDurationMinutes);
        // API_Snapshot: "completionTime — The time stamp when the snapshot was completed" (botocore: MillisecondDateTime),
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html. Every snapshot that reached
        // completed has one (the end of its lifecycle); pending and error ones have none.
        if (state == "completed")
            x.Element("completionTime", s.Lifecycle.End);
    }

    public static SnapshotLifecycle NewLifecycle(DateTimeOffset start, double seconds, string finalState, string? message, Random random) => new()
    {
        Start = start,
        End = start + TimeSpan.FromSeconds(seconds),
        FinalState = finalState,
        FinalMessage = message,
        Steps = Durations.ProgressSteps(seconds, random),
    };

    /// <summary>What <see cref="EmulatorOptions.DurationOf"/> and <see cref="EmulatorOptions.ShapeOf"/> are told; null
    /// when neither is set (nothing to tell).</summary>
    private static NewSnapshotInfo? Info(ActionContext c, bool isCopy, string? sourceRegion, string? sourceId, string volumeId,
        int size, string action, string? description, IEnumerable<KeyValuePair<string, string>> tags, int? minutes)
    {
        var options = c.State.Options;
        if (options.DurationOf is null && options.ShapeOf is null) return null;
        var tagMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in tags) tagMap[k] = v;
        return new NewSnapshotInfo(isCopy, c.Region.Name, sourceRegion, sourceId, volumeId, size, c.Now)
        {
            Account = c.Account, Action = action, Description = description, Tags = tagMap, CompletionDurationMinutes = minutes,
        };
    }

    private static SnapshotShape? Shape(ActionContext c, NewSnapshotInfo? info)
    {
        if (info is null || c.State.Options.ShapeOf?.Invoke(info) is not { } shape) return null;
        if (shape.FinalState is not (null or "completed" or "error"))
            throw new InvalidOperationException($"ShapeOf: FinalState must be completed or error, not '{shape.FinalState}'.");
        if (shape.DurationSeconds is < 0 or double.NaN || shape.InvisibleSeconds is < 0 or double.NaN)
            throw new InvalidOperationException("ShapeOf: DurationSeconds and InvisibleSeconds must not be negative.");
        return shape;
    }

    /// <summary>Eventual consistency: a share of new snapshots stays out of DescribeSnapshots for a while (or what the
    /// shape says): "if you run a command to modify or describe the resource that you just created, its ID might not have
    /// propagated throughout the system, and you will get an error responding that the resource does not exist"
    /// (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).</summary>
    private static DateTimeOffset VisibleFrom(ActionContext c, SnapshotShape? shape)
    {
        if (shape?.InvisibleSeconds is { } invisible) return c.Now + TimeSpan.FromSeconds(invisible);
        var faults = c.Config.Faults;
        if (!c.State.Chance(faults.InvisibleRate)) return c.Now;
        c.State.Stats.Fault("Invisible");
        return c.Now + TimeSpan.FromSeconds(faults.InvisibleSeconds);
    }

    public static void ValidateSnapshotId(string id)
    {
        if (!EmulatorState.SnapshotIdPattern().IsMatch(id))
            throw Ec2Error.BadRequest("InvalidSnapshotID.Malformed", $"Invalid id: \"{id}\" (expecting \"snap-...\")");
    }

    private static void ValidateOutpostArn(string arn, string region, string parameter)
    {
        var m = OutpostArnPattern().Match(arn);
        if (!m.Success) throw Ec2Error.InvalidValue(parameter, arn, "The Outpost ARN is malformed.");
        if (m.Groups[1].Value != region)
            throw Ec2Error.InvalidValue(parameter, arn, $"The Outpost must be in the region {region}.");
    }

    /// <summary>Local Zones are named REGION-CITY-Nx, e.g. us-west-2-lax-1a.</summary>
    public static bool IsLocalZoneOf(string zone, string region) =>
        zone.StartsWith(region + "-", StringComparison.Ordinal)
        && Regex.IsMatch(zone[(region.Length + 1)..], "^[a-z]{3,}-[0-9]+[a-z]$", RegexOptions.CultureInvariant);
}
