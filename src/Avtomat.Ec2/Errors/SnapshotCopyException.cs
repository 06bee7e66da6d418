using System;

namespace Avtomat.Ec2;

/// <summary>The exception inside the error records Copy-AvSnapshot writes for a snapshot copy that failed, timed out
/// or was refused. <c>catch [Avtomat.Ec2.SnapshotCopyException]</c> catches them under <c>-ErrorAction Stop</c>.</summary>
public sealed class SnapshotCopyException : Exception
{
    public SnapshotCopyException(string message) : base(message) { }

    public SnapshotCopyException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The module's stable error id (e.g. SnapshotNotFound, SnapshotCopyFailed, CopyTimedOut).</summary>
    public string? ErrorId { get; set; }

    /// <summary>EC2's error code when EC2 answered (e.g. InvalidSnapshot.NotFound, UnauthorizedOperation).</summary>
    public string? AwsErrorCode { get; set; }

    /// <summary>The snapshot that was to be copied.</summary>
    public string? SourceSnapshotId { get; set; }

    /// <summary>The copy, when EC2 accepted it (it may still be running in EC2).</summary>
    public string? SnapshotId { get; set; }

    /// <summary>The destination region.</summary>
    public string? Region { get; set; }
}
