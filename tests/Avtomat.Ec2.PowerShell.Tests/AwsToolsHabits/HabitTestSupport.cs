using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>A test bed where AWS.Tools command lines run as written: $PSDefaultParameterValues gives every *-AvSnapshot
/// call the emulator's endpoint and credentials (what a real session gets from Set-AWSCredential and the public
/// endpoints), and Set-DefaultAWSRegion is a stand-in for AWS.Tools.Common's (it sets $StoredAWSRegion, as the real one
/// does; AWS.Tools is not loaded here).</summary>
internal static class HabitTestSupport
{
    private const string Setup = @"
        $global:PSDefaultParameterValues['*-AvSnapshot:EndpointUrl'] = $aws.EndpointUrl
        $global:PSDefaultParameterValues['*-AvSnapshot:AccessKey'] = $aws.AccessKey
        $global:PSDefaultParameterValues['*-AvSnapshot:SecretKey'] = $aws.SecretKey
        function global:Set-DefaultAWSRegion {
            param([Parameter(Mandatory = $true, Position = 0)] [string] $Region)
            $global:StoredAWSRegion = $Region
        }";

    public static async Task<CopyTestBed> StartAsync()
    {
        var bed = await SnapshotTestSupport.StartAsync();
        bed.Host.Run(Setup);
        return bed;
    }

    /// <summary>The AWS.Tools line with the module's verb-noun, and the reference's example ids replaced by emulator ids
    /// (the only other change).</summary>
    public static string WithAvtomatNames(string awsToolsLine, params (string Documented, string Emulator)[] ids)
    {
        var line = awsToolsLine.Replace("Copy-EC2Snapshot", "Copy-AvSnapshot", StringComparison.Ordinal)
            .Replace("New-EC2Snapshot", "New-AvSnapshot", StringComparison.Ordinal);
        foreach (var (documented, emulator) in ids)
        {
            line = line.Replace(documented, emulator, StringComparison.Ordinal);
        }
        return line;
    }

    /// <summary>Copies made per destination region, from the emulator's counters (all regions).</summary>
    public static Dictionary<string, int> CopiesByRegion(this CopyTestBed bed)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var perDestination in bed.Emulator.GetStats().CopiesPerSource.Values)
        {
            foreach (var (region, count) in perDestination)
            {
                result[region] = result.GetValueOrDefault(region) + (int)count;
            }
        }
        return result;
    }
}
