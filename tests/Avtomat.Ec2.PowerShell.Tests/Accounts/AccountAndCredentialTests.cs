using System.Management.Automation;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.Accounts;

/// <summary>What users see of the account the engine shares state in, and of credentials that stop working.</summary>
public sealed class AccountAndCredentialTests
{
    [Fact]
    public async Task Verbose_SaysWhichAccountIsShared_AndNeverTheSecret()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var ids = bed.Seed(2);

        var run = bed.Invoke("$args | Copy-AvSnapshot @aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Verbose", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Contains(run.Verbose, v => v.StartsWith($"Account: {CopyTestBed.Account} (STS GetCallerIdentity)", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Verbose, v => v.Contains(CopyTestBed.SecretKey));
    }

    [Fact]
    public async Task ExpiredCredentials_EndTheWait_WithCredentialsExpiredErrors_InsteadOfWaitingForEver()
    {
        // The snapshots would take an hour; the credentials are already expired when the wait starts. (A key of its own:
        // the process remembers the accounts of keys it has seen.)
        const string expiredKey = "AKIDEXPIREDWAIT";
        await using var bed = await SnapshotTestSupport.StartAsync(3600, c => c.Credentials.ExpiredAccessKeys.Add(expiredKey));
        var ids = bed.Emulator.Seed(new Avtomat.Ec2.Emulator.SeedRequest { Region = "us-east-1", Snapshots = 3, State = "pending" }).SnapshotIds;

        var run = bed.Invoke($"$expired = $aws.Clone(); $expired.AccessKey = '{expiredKey}'; $args | Wait-AvSnapshot @expired -Region us-east-1 -Timeout 30 -Verbose",
            ids.Cast<object>().ToArray());

        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed}");
        Assert.Equal(3, run.Output.Count);
        Assert.All(run.Snapshots(), s => Assert.Equal("Failed", s.State));
        Assert.Equal(3, run.Errors.Count);
        Assert.All(run.Errors, e =>
        {
            Assert.StartsWith("CredentialsExpired,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Equal(ErrorCategory.AuthenticationError, e.CategoryInfo.Category);
            Assert.Contains((string)e.TargetObject, ids);
            Assert.Contains("role_arn", e.ErrorDetails.RecommendedAction);
        });
        Assert.Single(run.Warnings);
        // STS refused the expired key too: the account could not be learned, and the user is told so.
        Assert.Contains(run.Verbose, v => v.Contains("The account could not be learned (STS GetCallerIdentity failed: ExpiredToken)"));
        Assert.DoesNotContain(run.Verbose.Concat(run.Warnings).Concat(run.Errors.Select(e => e.ToString())), t => t.Contains(CopyTestBed.SecretKey));
    }
}
