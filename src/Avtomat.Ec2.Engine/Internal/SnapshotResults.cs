using System;
using System.Globalization;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Fills results from what DescribeSnapshots (or CreateSnapshot) said.</summary>
internal static class SnapshotResults
{
    /// <summary>What every result keeps: progress (never going back), the key and encryption.</summary>
    public static void ApplyProgress(ISnapshotOutcome result, Snapshot s)
    {
        var progress = ParseProgress(s.Progress);
        if (progress > result.Progress) result.Progress = progress;
        if (s.State?.Value == "completed") result.Progress = 100;
        if (s.Encrypted is { } encrypted) result.Encrypted = encrypted;
        if (!string.IsNullOrEmpty(s.KmsKeyId)) result.KmsKeyId = s.KmsKeyId;
    }

    /// <summary>Everything a <see cref="SnapshotResult"/> shows (creations and waits). A known volume id is kept.</summary>
    public static void Apply(SnapshotResult result, Snapshot s)
    {
        ApplyProgress(result, s);
        if (!string.IsNullOrEmpty(s.VolumeId) && result.VolumeId is null) result.VolumeId = s.VolumeId;
        if (s.StartTime is { } start) result.StartTime = DateTime.SpecifyKind(start, DateTimeKind.Utc);
        if (s.VolumeSize is { } size) result.VolumeSize = size;
        if (!string.IsNullOrEmpty(s.Description)) result.Description = s.Description;
        if (!string.IsNullOrEmpty(s.OutpostArn)) result.OutpostArn = s.OutpostArn;
        if (s.Tags is { Count: > 0 } tags)
            foreach (var t in tags) if (t.Key is not null) result.Tags[t.Key] = t.Value ?? "";
        if (s.State?.Value == "error" && !string.IsNullOrEmpty(s.StateMessage)) result.StatusMessage = s.StateMessage;
    }

    public static int ParseProgress(string? progress)
    {
        if (string.IsNullOrEmpty(progress)) return 0;
        var text = progress!.Trim().TrimEnd('%');
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? Math.Max(0, Math.Min(100, value)) : 0;
    }
}
