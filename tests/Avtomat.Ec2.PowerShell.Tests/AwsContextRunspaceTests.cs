using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>A test-only cmdlet on the <see cref="AwsCmdlet"/> base: resolves the context and reports it (never the secret).</summary>
[Cmdlet(VerbsDiagnostic.Resolve, "AvTestAwsContext")]
public sealed class ResolveAvTestAwsContextCommand : AwsCmdlet
{
    [Parameter]
    [Alias("RegionToCall")]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    [Parameter]
    [ValidateSnapshotId]
    public string[]? SnapshotId { get; set; }

    /// <summary>Also call DescribeRegions through <see cref="AwsCmdlet.CreateClientSource"/>.</summary>
    [Parameter]
    public SwitchParameter Call { get; set; }

    protected override void EndProcessing()
    {
        var context = ResolveAwsContext(Region);
        var keys = context.Credentials.GetCredentials();
        WriteDebug($"Resolved credentials of type {context.Credentials.GetType().Name} with access key id {keys.AccessKey}.");
        var result = new PSObject();
        result.Properties.Add(new PSNoteProperty("CredentialSource", context.CredentialSource));
        result.Properties.Add(new PSNoteProperty("AccessKeyId", keys.AccessKey));
        result.Properties.Add(new PSNoteProperty("HasSessionToken", !string.IsNullOrEmpty(keys.Token)));
        result.Properties.Add(new PSNoteProperty("Region", context.Region));
        result.Properties.Add(new PSNoteProperty("RegionSource", context.RegionSource));
        result.Properties.Add(new PSNoteProperty("EndpointUrl", context.EndpointUrl));
        if (Call)
        {
            using var clients = CreateClientSource(context);
            var regions = clients.For(context.Region).DescribeRegionsAsync(new DescribeRegionsRequest()).GetAwaiter().GetResult();
            result.Properties.Add(new PSNoteProperty("RegionCount", regions.Regions?.Count ?? 0));
            result.Properties.Add(new PSNoteProperty("EndpointKey", clients.EndpointKey(context.Region)));
        }
        WriteObject(result);
    }
}

/// <summary>Stands in for AWS Tools' Amazon.PowerShell.Common.AWSPSCredentials: its members are non-public.</summary>
public sealed class FakeAwsPsCredentials
{
    public FakeAwsPsCredentials(AWSCredentials credentials, string name)
    {
        Credentials = credentials;
        Name = name;
    }

    internal AWSCredentials Credentials { get; }
    internal string Name { get; }
}

/// <summary>The context as the base cmdlet resolves it in a real PowerShell session.</summary>
public sealed class AwsContextRunspaceTests : IDisposable
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    private const string Token = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue";
    private readonly string _dir = Directory.CreateTempSubdirectory("avtomat-ctx-").FullName;

    private static PowerShellHost Host() => new(importModule: false, configure: state =>
        state.Commands.Add(new SessionStateCmdletEntry("Resolve-AvTestAwsContext", typeof(ResolveAvTestAwsContextCommand), null)));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static PSObject Single(PowerShellHost host, string script, params object[] args) => Assert.Single(host.Run(script, args));

    private static string Prop(PSObject o, string name) => o.Properties[name].Value?.ToString() ?? "";

    private static ErrorRecord Error(PowerShellHost host, string script, params object[] args)
    {
        using var ps = host.Create(script, args);
        try
        {
            ps.Invoke();
        }
        catch (RuntimeException e)
        {
            return e.ErrorRecord;
        }
        return Assert.Single(ps.Streams.Error);
    }

    [Fact]
    public void StoredCredentialsAndRegion_InTheCallersSession_AreHonoured()
    {
        using var host = Host();
        var result = Single(host, """
            $StoredAWSCredentials = $args[0]
            $StoredAWSRegion = 'eu-west-1'
            Resolve-AvTestAwsContext
            """, new BasicAWSCredentials("AKIDSTORED", Secret));

        Assert.Equal("$StoredAWSCredentials", Prop(result, "CredentialSource"));
        Assert.Equal("AKIDSTORED", Prop(result, "AccessKeyId"));
        Assert.Equal("eu-west-1", Prop(result, "Region"));
        Assert.Equal("$StoredAWSRegion", Prop(result, "RegionSource"));
    }

    [Fact]
    public void StoredVariables_SetInTheGlobalScope_AreSeenFromInsideAFunction()
    {
        using var host = Host();
        host.Run("$global:StoredAWSCredentials = $args[0]; $global:StoredAWSRegion = 'ap-southeast-2'", new BasicAWSCredentials("AKIDGLOBAL", Secret));
        var result = Single(host, "function Invoke-Inner { Resolve-AvTestAwsContext }; Invoke-Inner");

        Assert.Equal("AKIDGLOBAL", Prop(result, "AccessKeyId"));
        Assert.Equal("ap-southeast-2", Prop(result, "Region"));
    }

    [Fact]
    public void StoredAwsPsCredentialsShape_IsUnwrapped()
    {
        using var host = Host();
        var result = Single(host, """
            $StoredAWSCredentials = $args[0]
            Resolve-AvTestAwsContext -Region us-east-2
            """, new FakeAwsPsCredentials(new SessionAWSCredentials("ASIAWRAPPED", Secret, Token), "from-set-awscredential"));

        Assert.Equal("$StoredAWSCredentials", Prop(result, "CredentialSource"));
        Assert.Equal("ASIAWRAPPED", Prop(result, "AccessKeyId"));
        Assert.Equal("True", Prop(result, "HasSessionToken"));
        Assert.Equal("-Region", Prop(result, "RegionSource"));
    }

    [Fact]
    public void Parameters_OverrideTheStoredVariables()
    {
        using var host = Host();
        var result = Single(host, """
            $StoredAWSCredentials = $args[0]
            $StoredAWSRegion = 'eu-west-1'
            Resolve-AvTestAwsContext -AK AKIDPARAM -SK $args[1] -ST $args[2] -RegionToCall ca-central-1
            """, new BasicAWSCredentials("AKIDSTORED", "stored-secret"), Secret, Token);

        Assert.Equal("parameters -AccessKey/-SecretKey/-SessionToken", Prop(result, "CredentialSource"));
        Assert.Equal("AKIDPARAM", Prop(result, "AccessKeyId"));
        Assert.Equal("ca-central-1", Prop(result, "Region"));
        Assert.Equal("-Region", Prop(result, "RegionSource"));
    }

    [Fact]
    public void ProfileName_BeatsCredentialAndStoredCredentials_AndItsRegionBeatsEnvironment()
    {
        var credentials = Path.Combine(_dir, "credentials");
        File.WriteAllText(credentials, """
            [prod]
            aws_access_key_id = AKIDPROFILE
            aws_secret_access_key = profile-secret
            region = eu-north-1
            """);
        using var host = Host();
        var result = Single(host, """
            $StoredAWSCredentials = $args[1]
            Resolve-AvTestAwsContext -StoredCredentials prod -ProfilesLocation $args[0] -Credential $args[1]
            """, credentials, new BasicAWSCredentials("AKIDCREDENTIAL", Secret));

        Assert.Equal("AKIDPROFILE", Prop(result, "AccessKeyId"));
        Assert.StartsWith("profile 'prod' (-ProfileName", Prop(result, "CredentialSource"));
        Assert.Equal("eu-north-1", Prop(result, "Region"));
        Assert.StartsWith("profile 'prod'", Prop(result, "RegionSource"));
    }

    [Fact]
    public void Credential_BeatsStoredCredentials()
    {
        using var host = Host();
        var result = Single(host, """
            $StoredAWSCredentials = $args[0]
            Resolve-AvTestAwsContext -Credential $args[1] -Region us-west-2
            """, new BasicAWSCredentials("AKIDSTORED", Secret), new FakeAwsPsCredentials(new BasicAWSCredentials("AKIDPARAMETER", Secret), "p"));

        Assert.Equal("parameter -Credential", Prop(result, "CredentialSource"));
        Assert.Equal("AKIDPARAMETER", Prop(result, "AccessKeyId"));
    }

    [Fact]
    public void VerboseAndDebugOutput_NameTheSources_ButNeverTheSecretKeyOrSessionToken()
    {
        using var host = Host();
        using var ps = host.Create("""
            $DebugPreference = 'Continue'
            Resolve-AvTestAwsContext -AccessKey AKIDVERBOSE -SecretKey $args[0] -SessionToken $args[1] -Region us-east-1 -Verbose -Debug
            Resolve-AvTestAwsContext -SecretKey $args[0] -SessionToken $args[1] -Region us-east-1 -Verbose -Debug -ErrorAction SilentlyContinue
            """, Secret, Token);
        ps.Invoke();

        var verbose = ps.Streams.Verbose.Select(v => v.Message).ToList();
        Assert.Contains(verbose, v => v == "Using credentials from parameters -AccessKey/-SecretKey/-SessionToken; region us-east-1 from -Region.");
        var everything = string.Join("\n", verbose
            .Concat(ps.Streams.Debug.Select(d => d.Message))
            .Concat(ps.Streams.Warning.Select(w => w.Message))
            .Concat(ps.Streams.Information.Select(i => i.ToString()))
            .Concat(ps.Streams.Error.Select(e => e.ToString() + e.ErrorDetails?.Message + e.ErrorDetails?.RecommendedAction + e.Exception)));
        Assert.NotEmpty(ps.Streams.Debug);
        Assert.NotEmpty(ps.Streams.Error); // the second call: -SecretKey without -AccessKey
        Assert.DoesNotContain(Secret, everything);
        Assert.DoesNotContain(Token, everything);
    }

    [Fact]
    public void MissingRegion_IsATerminatingErrorThatSaysHowToFixIt()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -AccessKey AKID -SecretKey $args[0]", Secret);

        Assert.Equal("AwsRegionNotFound,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Contains("No region specified or obtained from persisted/shell defaults.", error.Exception.Message);
        Assert.Contains("-Region", error.ErrorDetails.RecommendedAction);
        Assert.Contains("Set-DefaultAWSRegion", error.ErrorDetails.RecommendedAction);
        Assert.Contains("AWS_REGION", error.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void MissingCredentials_IsATerminatingAuthenticationError_NamingTheFixes()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -Region us-east-1");

        Assert.Equal("AwsCredentialsNotFound,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
        foreach (var fix in new[] { "-AccessKey", "-SecretKey", "-ProfileName", "Set-AWSCredential" })
            Assert.Contains(fix, error.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void MissingNamedProfile_IsAnError_NotAFallThroughToStoredCredentials()
    {
        var credentials = Path.Combine(_dir, "credentials");
        File.WriteAllText(credentials, "[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = x\n");
        using var host = Host();
        var error = Error(host, """
            $StoredAWSCredentials = $args[1]
            Resolve-AvTestAwsContext -ProfileName nope -ProfileLocation $args[0] -Region us-east-1
            """, credentials, new BasicAWSCredentials("AKIDSTORED", Secret));

        Assert.Equal("AwsProfileNotFound,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal("nope", error.TargetObject);
        Assert.Contains("'nope'", error.Exception.Message);
    }

    [Fact]
    public void CredentialOfTheWrongShape_IsAnInvalidArgumentError_NamingCredential()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -Credential @{ AccessKey = 'x' } -Region us-east-1");

        Assert.Equal("InvalidAwsCredentialObject,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("-Credential", error.Exception.Message);
    }

    [Fact]
    public void AccessKeyWithoutSecretKey_IsAnInvalidArgumentError()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -AccessKey AKIDALONE -Region us-east-1");

        Assert.Equal("AwsIncompleteCredentialParameters,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("-SecretKey", error.Exception.Message);
    }

    [Fact]
    public void EndpointUrl_MustBeAnAbsoluteHttpUrl()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -AccessKey A -SecretKey $args[0] -Region us-east-1 -EndpointUrl 'localhost:4566'", Secret);

        Assert.Equal("InvalidAwsEndpointUrl,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task EndpointUrl_SendsCallsThere_SignedForTheResolvedRegion()
    {
        await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions());
        using var host = Host();
        var result = Single(host, """
            $StoredAWSRegion = 'eu-central-1'
            Resolve-AvTestAwsContext -AccessKey AKIDEMULATOR -SecretKey $args[0] -EndpointUrl $args[1] -Call -Verbose
            """, Secret, ec2.BaseUrl.ToString());

        Assert.Equal(ec2.BaseUrl.ToString(), Prop(result, "EndpointUrl"));
        Assert.Equal(ec2.BaseUrl.ToString().TrimEnd('/'), Prop(result, "EndpointKey"));
        Assert.NotEqual("0", Prop(result, "RegionCount"));
        var calls = ec2.GetStats().Calls;
        Assert.Equal(1, calls[$"{ec2.Options.DefaultAccountId}/eu-central-1"]["DescribeRegions"]);
    }

    [Fact]
    public void RegionParameter_RejectsMalformedNames_AndWarnsAboutUnknownWellFormedOnes()
    {
        using var host = Host();
        var error = Error(host, "Resolve-AvTestAwsContext -AccessKey A -SecretKey $args[0] -Region 'US East 1'", Secret);
        Assert.Equal("ParameterArgumentValidationError,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Contains("us-east-1", error.Exception.Message);

        using var ps = host.Create("Resolve-AvTestAwsContext -AccessKey A -SecretKey $args[0] -Region xx-newplace-9", Secret);
        var result = Assert.Single(ps.Invoke());
        Assert.Equal("xx-newplace-9", Prop(result, "Region"));
        var warning = Assert.Single(ps.Streams.Warning);
        Assert.Contains("xx-newplace-9", warning.Message);
    }

    [Fact]
    public void SnapshotIdValidation_AcceptsBothIdLengths_AndExplainsTheShape()
    {
        using var host = Host();
        Single(host, "Resolve-AvTestAwsContext -AccessKey A -SecretKey $args[0] -Region us-east-1 -SnapshotId snap-0123456789abcdef0, snap-1234abcd", Secret);

        var error = Error(host, "Resolve-AvTestAwsContext -AccessKey A -SecretKey $args[0] -Region us-east-1 -SnapshotId snap-0123456789abcdef0, vol-1234abcd", Secret);
        Assert.Equal("ParameterArgumentValidationError,Avtomat.Ec2.PowerShell.Tests.ResolveAvTestAwsContextCommand", error.FullyQualifiedErrorId);
        Assert.Contains("'vol-1234abcd' is not a snapshot id", error.Exception.Message);
        Assert.Contains("snap-0123456789abcdef0", error.Exception.Message);
    }

    [Fact]
    public void RegionCompleter_CompletesNames_WithTheDisplayNameAsTooltip()
    {
        using var host = Host();
        var script = "Resolve-AvTestAwsContext -Region us-we";
        var completion = Single(host, "TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length", script);
        var matches = ((System.Collections.IEnumerable)completion.Properties["CompletionMatches"].Value).Cast<object>()
            .Select(m => (CompletionResult)(m is PSObject p ? p.BaseObject : m)).ToList();

        Assert.Equal(new[] { "us-west-1", "us-west-2" }, matches.Select(m => m.CompletionText));
        Assert.Equal("us-west-2 (US West (Oregon))", matches[1].ToolTip);

        var byDisplayName = new RegionCompleter().CompleteArgument("Resolve-AvTestAwsContext", "Region", "oregon", null!, new System.Collections.Hashtable()).ToList();
        Assert.Contains(byDisplayName, r => r.CompletionText == "us-west-2");
    }
}
