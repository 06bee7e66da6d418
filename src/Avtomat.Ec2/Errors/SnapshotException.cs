using System;

namespace Avtomat.Ec2;

/// <summary>The exception inside the error records New-AvSnapshot and Wait-AvSnapshot write for a snapshot that failed,
/// timed out or was refused. <c>catch [Avtomat.Ec2.SnapshotException]</c> catches them under <c>-ErrorAction Stop</c>.</summary>
public sealed class SnapshotException : Exception
{
    public SnapshotException(string message) : base(message) { }

    public SnapshotException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The module's stable error id (e.g. SnapshotFailed, VolumeNotFound, WaitTimedOut).</summary>
    public string? ErrorId { get; set; }

    /// <summary>EC2's error code when EC2 answered (e.g. InvalidVolume.NotFound, UnauthorizedOperation).</summary>
    public string? AwsErrorCode { get; set; }

    /// <summary>The snapshot, when EC2 created it (it may still be running in EC2).</summary>
    public string? SnapshotId { get; set; }

    /// <summary>The volume that was to be snapshotted.</summary>
    public string? VolumeId { get; set; }

    /// <summary>The instance of an instance set.</summary>
    public string? InstanceId { get; set; }

    /// <summary>The region of the snapshot.</summary>
    public string? Region { get; set; }
}
