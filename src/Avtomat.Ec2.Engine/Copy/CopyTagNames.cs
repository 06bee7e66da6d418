namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Provenance tags every copy gets at creation. The request token finds a copy again after a lost response.</summary>
public static class CopyTagNames
{
    public const string SourceSnapshotId = "avtomat:source-snapshot-id";
    public const string SourceRegion = "avtomat:source-region";
    public const string RequestToken = "avtomat:request-token";
}
