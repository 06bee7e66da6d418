using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>-DestinationProfileName and -DestinationCredential (a copy into a vault account), in a hosted runspace
/// against the emulator over HTTP with two accounts: what is refused before any call, what -WhatIf says, and a vault
/// copy checked per account through the SDK (the copy is the vault's, no permission is left on the source).</summary>
public sealed class VaultCopyTests : IDisposable
{
    private const string ProdKey = "AKIDVAULTTESTPROD";
    private const string VaultKey = "AKIDVAULTTESTVAULT";
    private const string ProdSecret = "prod-secret-never-shown";
    private const string VaultSecret = "vault-secret-never-shown";
    private const string Prod = "111111111111";
    private const string Vault = "222222222222";
    private readonly string _folder = Directory.CreateTempSubdirectory("avtomat-vault-").FullName;

    private string CredentialsFile
    {
        get
        {
            var path = Path.Combine(_folder, "credentials");
            File.WriteAllText(path, $"[prod]\naws_access_key_id = {ProdKey}\naws_secret_access_key = {ProdSecret}\n\n" +
                                    $"[vault]\naws_access_key_id = {VaultKey}\naws_secret_access_key = {VaultSecret}\n");
            return path;
        }
    }

    private static Task<CopyTestBed> StartAsync() => CopyTestBed.StartAsync(options: o =>
    {
        o.Accounts[ProdKey] = Prod;
        o.Accounts[VaultKey] = Vault;
    });

    private static AmazonEC2Client Client(CopyTestBed bed, string key, string secret, string region = "us-east-1") =>
        new(new BasicAWSCredentials(key, secret), new AmazonEC2Config { ServiceURL = bed.Url, AuthenticationRegion = region, MaxErrorRetry = 0 });

    private const string Vaulted = "Copy-AvSnapshot $args[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $url -ProfileName prod -ProfileLocation $args[1]";

    [Fact]
    public async Task BothDestinationParameters_OrNoWait_AreRefusedBeforeAnyCall()
    {
        await using var bed = await StartAsync();
        var id = bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, AccountId = Prod }).SnapshotIds[0];
        var file = CredentialsFile;
        var calls = bed.Emulator.GetCalls().Count;

        var both = bed.Invoke(Vaulted + " -DestinationProfileName vault -DestinationCredential 'x'", id, file);
        var noWait = bed.Invoke(Vaulted + " -DestinationProfileName vault -NoWait", id, file);

        Assert.Equal("DestinationCredentialsConflict,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", Assert.Single(both.Errors).FullyQualifiedErrorId);
        var refused = Assert.Single(noWait.Errors);
        Assert.Equal("VaultCopyNoWait,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", refused.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, refused.CategoryInfo.Category);
        Assert.Contains("Leave out -NoWait", refused.ErrorDetails?.RecommendedAction ?? refused.ToString());
        Assert.Equal(calls, bed.Emulator.GetCalls().Count);
    }

    [Fact]
    public async Task WhatIf_SaysWhichAccountDoesWhat_AndCallsNothing()
    {
        await using var bed = await StartAsync();
        var id = bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, AccountId = Prod }).SnapshotIds[0];
        var file = CredentialsFile;
        var calls = bed.Emulator.GetCalls().Count;
        var capture = new CapturingHost();
        using var runspace = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(capture,
            System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(@"
            Import-Module -Name $args[0] -ErrorAction Stop
            Copy-AvSnapshot $args[1] -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $args[2] -ProfileName prod -ProfileLocation $args[3] `
                -DestinationProfileName vault -WhatIf")
            .AddArgument(PowerShellHost.ModuleManifestPath).AddArgument(id).AddArgument(bed.Url).AddArgument(file);

        ps.Invoke();

        Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));
        var text = System.Text.RegularExpressions.Regex.Replace(capture.Text, "\u001b\\[[0-9;]*m", "").Replace("\n", " ");
        Assert.Contains("What if", text);
        Assert.Contains($"{id} (us-east-1)", text);
        Assert.Contains("Share with the account of profile 'vault'", text);
        Assert.Contains("copy to us-west-2 in that account", text);
        Assert.Contains("remove the permission this command added", text);
        Assert.Equal(calls, bed.Emulator.GetCalls().Count);
    }

    [Fact]
    public async Task AVaultCopy_WithAProfile_IsMadeInTheVault_AndLeavesNoPermission_NorASecretInAnyStream()
    {
        await using var bed = await StartAsync();
        var id = bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, AccountId = Prod }).SnapshotIds[0];

        var run = bed.Invoke(Vaulted + " -DestinationProfileName vault -Verbose", id, CredentialsFile);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var result = Assert.Single(run.Results);
        Assert.Equal("Completed", result.State);
        using var vault = Client(bed, VaultKey, VaultSecret, "us-west-2");
        var copy = Assert.Single((await vault.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [result.SnapshotId!] })).Snapshots);
        Assert.Equal(Vault, copy.OwnerId);
        using var prod = Client(bed, ProdKey, ProdSecret);
        var permissions = await prod.DescribeSnapshotAttributeAsync(new DescribeSnapshotAttributeRequest
        {
            SnapshotId = id, Attribute = SnapshotAttributeName.CreateVolumePermission,
        });
        Assert.Empty(permissions.CreateVolumePermissions ?? []);
        Assert.Contains(run.Verbose, v => v.StartsWith($"Account: {Prod}", StringComparison.Ordinal));
        Assert.Contains(run.Verbose, v => v.StartsWith($"Destination account: {Vault}", StringComparison.Ordinal) && v.Contains("-DestinationProfileName"));
        Assert.Contains(run.Verbose, v => v.Contains($"Shared {id} in us-east-1 with account {Vault}"));
        Assert.Contains(run.Verbose, v => v.Contains($"Removed the permission of account {Vault} on {id}"));
        var everything = string.Join("\n", run.Verbose.Concat(run.Warnings).Concat(run.Debug).Concat(run.Information));
        Assert.DoesNotContain(ProdSecret, everything);
        Assert.DoesNotContain(VaultSecret, everything);
    }

    [Fact]
    public async Task AVaultCopy_WithADestinationCredentialObject_IsMadeInThatAccount()
    {
        await using var bed = await StartAsync();
        var id = bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, AccountId = Prod }).SnapshotIds[0];

        // An AWSCredentials object of another AWSSDK load than the module's (the test's own), as AWS Tools hands out.
        var run = bed.Invoke(Vaulted + " -DestinationCredential ([Amazon.Runtime.BasicAWSCredentials]::new($args[2], $args[3]))",
            id, CredentialsFile, VaultKey, VaultSecret);

        Assert.True(run.Errors.Count == 0, run.Describe());
        var result = Assert.Single(run.Results);
        using var vault = Client(bed, VaultKey, VaultSecret, "us-west-2");
        var copy = Assert.Single((await vault.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [result.SnapshotId!] })).Snapshots);
        Assert.Equal(Vault, copy.OwnerId);
    }

    [Fact]
    public async Task AMissingDestinationProfile_IsAnErrorNamingTheParameter()
    {
        await using var bed = await StartAsync();
        var id = bed.Emulator.Seed(new SeedRequest { Region = "us-east-1", Snapshots = 1, AccountId = Prod }).SnapshotIds[0];

        var run = bed.Invoke(Vaulted + " -DestinationProfileName nosuch", id, CredentialsFile);

        var error = Assert.Single(run.Errors);
        Assert.StartsWith("AwsProfileNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("-DestinationProfileName", error.ToString());
        Assert.Equal(0, bed.Emulator.GetCalls("CopySnapshot").Count);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
