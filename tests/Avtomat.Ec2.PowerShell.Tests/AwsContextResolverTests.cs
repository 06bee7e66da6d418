using System.Management.Automation;
using Amazon.Runtime;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Errors;
using Avtomat.Ec2.Engine.Context;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>
/// The resolution order, tested on the plain resolver with injected inputs: no real environment variables, no machine
/// ~/.aws (profiles come from temp files), no instance metadata.
/// </summary>
public sealed class AwsContextResolverTests : IDisposable
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    private const string Token = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue";

    private readonly string _dir = Directory.CreateTempSubdirectory("avtomat-resolver-").FullName;
    private readonly string _credentialsFile;
    private readonly Dictionary<string, object?> _variables = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal);
    private AWSCredentials? _chain;
    private string? _imdsRegion;
    private int _imdsCalls;

    public AwsContextResolverTests()
    {
        _credentialsFile = Path.Combine(_dir, "credentials");
        File.WriteAllText(_credentialsFile, """
            [prod]
            aws_access_key_id = AKIDPROD
            aws_secret_access_key = prod-secret
            region = eu-north-1

            [noregion]
            aws_access_key_id = AKIDNOREGION
            aws_secret_access_key = noregion-secret

            [envprofile]
            aws_access_key_id = AKIDENVPROFILE
            aws_secret_access_key = envprofile-secret
            region = sa-east-1
            """);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private AwsContextInputs Inputs(Action<AwsContextInputs>? configure = null)
    {
        var inputs = new AwsContextInputs
        {
            GetVariable = name => _variables.GetValueOrDefault(name),
            GetEnvironmentVariable = name => _environment.GetValueOrDefault(name),
            // Without -ProfileLocation the "default locations" are this test's file, never the machine's.
            OpenProfileStore = location => new SdkProfileStore(location ?? _credentialsFile),
            DefaultCredentials = () => _chain ?? throw new AmazonClientException("Failed to resolve AWS credentials."),
            InstanceMetadataRegion = () => { _imdsCalls++; return _imdsRegion; },
        };
        configure?.Invoke(inputs);
        return inputs;
    }

    private static AwsContextResolver Resolver(AwsContextInputs inputs) => new(inputs);

    private static string AccessKey(AWSCredentials credentials) => credentials.GetCredentials().AccessKey;

    private void AppendProfile(string text) => File.AppendAllText(_credentialsFile, "\n" + text + "\n");

    // ------------------------------------------------------------------ credentials precedence matrix

    public static TheoryData<int, string, string> CredentialLevels => new()
    {
        // level = how many of the higher-precedence sources are removed
        { 0, "AKIDPARAM", "parameters -AccessKey/-SecretKey" },
        { 1, "AKIDPROD", "profile 'prod' (-ProfileName)" },
        { 2, "AKIDCREDENTIAL", "parameter -Credential" },
        { 3, "AKIDSTORED", "$StoredAWSCredentials" },
        { 4, "AKIDCHAIN", "the SDK default chain: profile 'default' (BasicAWSCredentials)" },
    };

    [Theory]
    [MemberData(nameof(CredentialLevels))]
    public void Credentials_FirstMatchWins_ParametersThenProfileThenCredentialThenStoredThenDefaultChain(int removed, string expectedKey, string expectedSource)
    {
        _chain = new BasicAWSCredentials("AKIDCHAIN", Secret);
        if (removed < 4) _variables["StoredAWSCredentials"] = new BasicAWSCredentials("AKIDSTORED", Secret);
        var inputs = Inputs(i =>
        {
            if (removed < 1) { i.AccessKey = "AKIDPARAM"; i.SecretKey = Secret; }
            if (removed < 2) i.ProfileName = "prod";
            if (removed < 3) i.Credential = new BasicAWSCredentials("AKIDCREDENTIAL", Secret);
        });

        var (credentials, source) = Resolver(inputs).ResolveCredentials();

        Assert.Equal(expectedKey, AccessKey(credentials));
        Assert.Equal(expectedSource, source);
    }

    [Fact]
    public void Credentials_NothingAnywhere_IsCredentialsNotFound_NamingTheFixes()
    {
        var e = Assert.Throws<AwsContextException>(() => Resolver(Inputs()).ResolveCredentials());

        Assert.Equal(AwsContextException.CredentialsNotFound, e.ErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
        foreach (var fix in new[] { "-AccessKey", "-SecretKey", "-ProfileName", "Set-AWSCredential" })
            Assert.Contains(fix, e.RecommendedAction);
        var record = ErrorRecordFactory.FromContextError(e);
        Assert.Equal(AwsContextException.CredentialsNotFound, record.FullyQualifiedErrorId);
        Assert.Equal(e.RecommendedAction, record.ErrorDetails.RecommendedAction);
    }

    [Fact]
    public void Credentials_NothingAnywhere_ListsWhatTheChainsProvidersSaid_AndEndsWithWhatToType()
    {
        // The SDK's message as AWSSDK.Core's DefaultAWSCredentialsIdentityResolver writes it: a heading that ends in a
        // colon, a blank line, one line per provider.
        var sdk = "Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors:\n\n"
                  + "Exception 1 of 2: The environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN were not set with AWS credentials.\n"
                  + "Exception 2 of 2: Unable to find the 'default' profile.\n";
        var e = Assert.Throws<AwsContextException>(() => Resolver(Inputs(i => i.DefaultCredentials = () => throw new AmazonClientException(sdk))).ResolveCredentials());

        Assert.Equal(AwsContextException.CredentialsNotFound, e.ErrorId);
        Assert.DoesNotContain("following errors:", e.Message);
        Assert.Contains("(The environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN were not set with AWS credentials; Unable to find the 'default' profile", e.Message);
        Assert.EndsWith("Pass -ProfileName <profile>, or -AccessKey and -SecretKey, or run Set-AWSCredential first.", e.Message);

        // A message of a heading alone adds nothing dangling either.
        var bare = Assert.Throws<AwsContextException>(() => Resolver(Inputs(i => i.DefaultCredentials = () =>
            throw new AmazonClientException("Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors:"))).ResolveCredentials());
        Assert.DoesNotContain("errors:", bare.Message);
        Assert.EndsWith("run Set-AWSCredential first.", bare.Message);
    }

    [Fact]
    public void Credentials_DefaultChainFromEnvironment_IsNamedSo()
    {
        _chain = new EnvironmentVariablesAWSCredentialsStandIn();
        var (_, source) = Resolver(Inputs()).ResolveCredentials();
        Assert.Equal("the SDK default chain: environment variables (AWS_ACCESS_KEY_ID)", source);

        _chain = new BasicAWSCredentials("AKIDCHAIN", Secret);
        _environment["AWS_PROFILE"] = "envprofile";
        Assert.Equal("the SDK default chain: profile 'envprofile' (AWS_PROFILE)", Resolver(Inputs()).ResolveCredentials().Source);
    }

    [Fact]
    public void Credentials_SessionToken_GivesTemporaryCredentials()
    {
        var (credentials, source) = Resolver(Inputs(i => { i.AccessKey = "ASIAPARAM"; i.SecretKey = Secret; i.SessionToken = Token; })).ResolveCredentials();

        Assert.IsType<SessionAWSCredentials>(credentials);
        Assert.Equal(Token, credentials.GetCredentials().Token);
        Assert.Equal("parameters -AccessKey/-SecretKey/-SessionToken", source);
    }

    [Theory]
    [InlineData("AKIDALONE", null, null, "-SecretKey")]
    [InlineData(null, Secret, null, "-AccessKey")]
    [InlineData(null, null, Token, "-AccessKey")]
    public void Credentials_IncompleteKeyParameters_AreAnInvalidArgumentError_WithoutTheSecret(string? accessKey, string? secretKey, string? token, string missing)
    {
        _variables["StoredAWSCredentials"] = new BasicAWSCredentials("AKIDSTORED", Secret); // no fall-through

        var e = Assert.Throws<AwsContextException>(() =>
            Resolver(Inputs(i => { i.AccessKey = accessKey; i.SecretKey = secretKey; i.SessionToken = token; })).ResolveCredentials());

        Assert.Equal(AwsContextException.IncompleteCredentialParameters, e.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
        Assert.Equal(missing, e.Target);
        Assert.DoesNotContain(Secret, e.Message + e.RecommendedAction);
        Assert.DoesNotContain(Token, e.Message + e.RecommendedAction);
    }

    [Fact]
    public void Credentials_MissingNamedProfile_IsAnError_NeverAFallThrough()
    {
        _variables["StoredAWSCredentials"] = new BasicAWSCredentials("AKIDSTORED", Secret);
        _chain = new BasicAWSCredentials("AKIDCHAIN", Secret);
        var missing = Path.Combine(_dir, "other-credentials");
        File.WriteAllText(missing, "[someone]\naws_access_key_id = A\naws_secret_access_key = B\n");

        var e = Assert.Throws<AwsContextException>(() => Resolver(Inputs(i => { i.ProfileName = "prod"; i.ProfileLocation = missing; })).ResolveCredentials());

        Assert.Equal(AwsContextException.ProfileNotFound, e.ErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
        Assert.Equal("prod", e.Target);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void Credentials_ProfileLocation_ReadsThatFile()
    {
        var other = Path.Combine(_dir, "elsewhere");
        File.WriteAllText(other, "[prod]\naws_access_key_id = AKIDELSEWHERE\naws_secret_access_key = s\naws_session_token = t\n");

        var (credentials, source) = Resolver(Inputs(i => { i.ProfileName = "prod"; i.ProfileLocation = other; })).ResolveCredentials();

        Assert.Equal("AKIDELSEWHERE", AccessKey(credentials));
        Assert.Equal("t", credentials.GetCredentials().Token);
        Assert.Equal($"profile 'prod' (-ProfileName, -ProfileLocation '{other}')", source);
    }

    [Fact]
    public void Credentials_ProfileThatCannotProvideCredentials_IsAnAuthenticationError()
    {
        AppendProfile("[broken]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = does-not-exist\n");

        var e = Assert.Throws<AwsContextException>(() => Resolver(Inputs(i => i.ProfileName = "broken")).ResolveCredentials());

        Assert.True(e.ErrorId is AwsContextException.ProfileCredentialsUnavailable or AwsContextException.ProfileNotFound, e.ErrorId);
    }

    [Fact]
    public void Credentials_StoredProfileName_String_IsReadAsAProfile()
    {
        _variables["StoredAWSCredentials"] = "prod";
        var (credentials, source) = Resolver(Inputs()).ResolveCredentials();
        Assert.Equal("AKIDPROD", AccessKey(credentials));
        Assert.Equal("$StoredAWSCredentials (profile 'prod')", source);
    }

    // ------------------------------------------------------------------ credential shapes

    [Fact]
    public void Shape_AwsPsCredentialsStandIn_WithNonPublicCredentials_IsUnwrapped_AlsoInsideAPSObject()
    {
        var inner = new SessionAWSCredentials("ASIAINNER", Secret, Token);
        _variables["StoredAWSCredentials"] = new PSObject(new FakeAwsPsCredentials(inner, "n"));

        var (credentials, source) = Resolver(Inputs()).ResolveCredentials();

        Assert.Same(inner, credentials);
        Assert.Equal("$StoredAWSCredentials", source);
    }

    [Fact]
    public void Shape_ForeignObjectWithGetCredentials_IsWrapped_AndReadAgainOnEveryUse()
    {
        var foreign = new ForeignRefreshingCredentials();
        var (credentials, _) = Resolver(Inputs(i => i.Credential = foreign)).ResolveCredentials();

        Assert.IsType<ShapedAWSCredentials>(credentials);
        var first = credentials.GetCredentials();
        var second = credentials.GetCredentials();
        Assert.Equal("AKIDROTATE1", first.AccessKey);
        Assert.Equal("AKIDROTATE2", second.AccessKey); // refreshable: wrapped, not snapshotted
        Assert.Equal("token-2", second.Token);
        Assert.Equal(2, foreign.Calls);
        Assert.DoesNotContain("secret", credentials.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Shape_ForeignAwsPsCredentials_WrappingAForeignCredentialsObject_IsUnwrappedThenWrapped()
    {
        var foreign = new ForeignRefreshingCredentials();
        _variables["StoredAWSCredentials"] = new ForeignAwsPsCredentials(foreign);

        var (credentials, _) = Resolver(Inputs()).ResolveCredentials();

        Assert.Equal("AKIDROTATE1", AccessKey(credentials));
        Assert.Equal("AKIDROTATE2", AccessKey(credentials));
    }

    [Theory]
    [InlineData("-Credential")]
    [InlineData("$StoredAWSCredentials")]
    public void Shape_AnythingElse_IsInvalidArgument_NamingWhereItCameFrom(string where)
    {
        var value = new System.Collections.Hashtable { ["AccessKey"] = "x", ["SecretKey"] = Secret };
        var inputs = Inputs(i => { if (where == "-Credential") i.Credential = value; });
        if (where != "-Credential") _variables["StoredAWSCredentials"] = value;

        var e = Assert.Throws<AwsContextException>(() => Resolver(inputs).ResolveCredentials());

        Assert.Equal(AwsContextException.InvalidCredentialObject, e.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
        Assert.StartsWith(where, e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }

    [Fact]
    public void Shape_ForeignGetCredentialsThatThrows_SurfacesATypeNameNotTheInnerText()
    {
        var (credentials, _) = Resolver(Inputs(i => i.Credential = new ThrowingCredentials())).ResolveCredentials();
        var e = Assert.Throws<AmazonClientException>(() => credentials.GetCredentials());
        Assert.Contains(nameof(ThrowingCredentials), e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }

    // ------------------------------------------------------------------ region precedence matrix

    public static TheoryData<int, string, string> RegionLevels => new()
    {
        { 0, "ca-central-1", "-SourceRegion" },
        { 1, "eu-west-1", "$StoredAWSRegion" },
        { 2, "eu-north-1", "profile 'prod'" },
        { 3, "us-east-2", "profile 'default'" },
        { 4, "ap-south-1", "profile 'AWS PS Default'" },
        { 5, "ap-northeast-1", "environment variable AWS_REGION" },
        { 6, "ap-northeast-2", "environment variable AWS_DEFAULT_REGION" },
        { 7, "sa-east-1", "profile 'envprofile' (AWS_PROFILE)" },
        { 8, "me-south-1", "instance metadata" },
    };

    [Theory]
    [MemberData(nameof(RegionLevels))]
    public void Region_FirstMatchWins(int removed, string expectedRegion, string expectedSource)
    {
        if (removed < 1) { /* parameter set below */ }
        if (removed < 2) _variables["StoredAWSRegion"] = "eu-west-1";
        if (removed < 4) AppendProfile("[default]\naws_access_key_id = D\naws_secret_access_key = D\nregion = us-east-2\n");
        if (removed < 5) AppendProfile("[AWS PS Default]\naws_access_key_id = P\naws_secret_access_key = P\nregion = ap-south-1\n");
        if (removed < 6) _environment["AWS_REGION"] = "ap-northeast-1";
        if (removed < 7) _environment["AWS_DEFAULT_REGION"] = "ap-northeast-2";
        if (removed < 8) _environment["AWS_PROFILE"] = "envprofile";
        _imdsRegion = "me-south-1";
        var inputs = Inputs(i =>
        {
            i.RegionParameterName = "SourceRegion";
            if (removed < 1) i.Region = "ca-central-1";
            i.ProfileName = removed < 3 ? "prod" : "noregion";
        });

        var (region, source) = Resolver(inputs).ResolveRegion();

        Assert.Equal(expectedRegion, region);
        Assert.Equal(expectedSource, source);
        Assert.Equal(removed == 8 ? 1 : 0, _imdsCalls); // instance metadata only as the last resort
    }

    [Fact]
    public void Region_InstanceMetadataDisabled_IsNeverAsked_AndTheErrorSaysHowToFixIt()
    {
        _environment["AWS_EC2_METADATA_DISABLED"] = "TRUE";
        _imdsRegion = "me-south-1";

        var e = Assert.Throws<AwsContextException>(() => Resolver(Inputs()).ResolveRegion());

        Assert.Equal(0, _imdsCalls);
        Assert.Equal(AwsContextException.RegionNotFound, e.ErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
        Assert.StartsWith("No region specified or obtained from persisted/shell defaults.", e.Message);
        foreach (var fix in new[] { "-Region", "Set-DefaultAWSRegion", "$env:AWS_REGION" })
            Assert.Contains(fix, e.RecommendedAction);
    }

    [Fact]
    public void Region_StoredRegionObjects_AreReadByShape()
    {
        _variables["StoredAWSRegion"] = new PSObject("  eu-west-3 ");
        Assert.Equal("eu-west-3", Resolver(Inputs()).ResolveRegion().Region);

        _variables["StoredAWSRegion"] = Amazon.RegionEndpoint.EUSouth1;
        Assert.Equal("eu-south-1", Resolver(Inputs()).ResolveRegion().Region);

        _variables["StoredAWSRegion"] = "";
        _environment["AWS_REGION"] = "us-west-1";
        Assert.Equal("us-west-1", Resolver(Inputs()).ResolveRegion().Region);
    }

    [Fact]
    public void Region_ProfileLocation_IsWhereProfileRegionsComeFrom()
    {
        var other = Path.Combine(_dir, "elsewhere");
        File.WriteAllText(other, "[default]\naws_access_key_id = A\naws_secret_access_key = B\nregion = af-south-1\n");

        var (region, source) = Resolver(Inputs(i => i.ProfileLocation = other)).ResolveRegion();

        Assert.Equal("af-south-1", region);
        Assert.Equal($"profile 'default' in '{other}'", source);
    }

    // ------------------------------------------------------------------ whole context, endpoint, redaction

    [Fact]
    public void Resolve_ReturnsBothSources_AndTheEndpoint()
    {
        var context = Resolver(Inputs(i =>
        {
            i.AccessKey = "AKIDPARAM"; i.SecretKey = Secret; i.Region = "us-east-1"; i.EndpointUrl = " http://127.0.0.1:4566/ ";
        })).Resolve();

        Assert.Equal("parameters -AccessKey/-SecretKey", context.CredentialSource);
        Assert.Equal("us-east-1", context.Region);
        Assert.Equal("-Region", context.RegionSource);
        Assert.Equal("http://127.0.0.1:4566/", context.EndpointUrl);
    }

    [Theory]
    [InlineData("127.0.0.1:4566")]
    [InlineData("/relative")]
    [InlineData("ftp://example.com/")]
    [InlineData("not a url")]
    public void EndpointUrl_NotAnAbsoluteHttpUrl_IsInvalidArgument(string url)
    {
        var e = Assert.Throws<AwsContextException>(() => AwsContextResolver.ValidateEndpointUrl(url));
        Assert.Equal(AwsContextException.InvalidEndpointUrl, e.ErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, ErrorRecordFactory.FromContextError(e).CategoryInfo.Category);
    }

    [Fact]
    public void EndpointUrl_UserInfo_IsRedactedFromMessages()
    {
        Assert.Equal("https://****@vpce.example.com/", AwsContext.RedactUrl("https://user:pa55@vpce.example.com/"));
    }

    [Fact]
    public void Redact_RemovesTheSecretKeyAndSessionTokenFromForeignTexts()
    {
        var resolver = Resolver(Inputs(i => { i.SecretKey = Secret; i.SessionToken = Token; }));
        Assert.Equal("key **** token ****", resolver.Redact($"key {Secret} token {Token}"));
    }

    [Fact]
    public void Context_HasNoMemberThatPrintsTheSecret()
    {
        var context = new AwsContext(new BasicAWSCredentials("AKID", Secret), "s", "us-east-1", "r", null);
        var printed = string.Join("|", typeof(AwsContext).GetProperties().Select(p => p.GetValue(context)?.ToString()));
        Assert.DoesNotContain(Secret, printed);
        Assert.DoesNotContain(Secret, new PSObject(context).ToString());
    }

    // ------------------------------------------------------------------ region names

    [Theory]
    [InlineData("us-east-1", true, true)]
    [InlineData("us-gov-west-1", true, true)]
    [InlineData("cn-northwest-1", true, true)]
    [InlineData("xx-newplace-9", true, false)]
    [InlineData("US-EAST-1", false, false)]
    [InlineData("us_east_1", false, false)]
    [InlineData("useast1", false, false)]
    [InlineData("us-east", false, false)]
    [InlineData("", false, false)]
    public void RegionNames_ShapeAndKnownList(string region, bool wellFormed, bool known)
    {
        Assert.Equal(wellFormed, RegionNames.IsWellFormed(region));
        Assert.Equal(known, RegionNames.IsKnown(region));
        Assert.Equal(known, RegionNames.UnknownRegionWarning(region, "-Region") == null);
    }

    // ------------------------------------------------------------------ stand-ins

    /// <summary>Named like the SDK's environment credentials, so the chain description can be checked without env vars.</summary>
    private sealed class EnvironmentVariablesAWSCredentialsStandIn : AWSCredentials
    {
        public override ImmutableCredentials GetCredentials() => new("AKIDENV", Secret, null);
    }

    /// <summary>What an AWSCredentials of another AWSSDK load looks like to us: a GetCredentials() of a foreign shape,
    /// here rotating its keys on every call like assumed-role credentials that renew.</summary>
    public sealed class ForeignRefreshingCredentials
    {
        public int Calls { get; private set; }

        public ForeignImmutableCredentials GetCredentials()
        {
            Calls++;
            return new ForeignImmutableCredentials($"AKIDROTATE{Calls}", $"secret-{Calls}", $"token-{Calls}");
        }
    }

    public sealed record ForeignImmutableCredentials(string AccessKey, string SecretKey, string Token);

    /// <summary>AWSPSCredentials of another AWS.Tools load, wrapping a foreign credentials object.</summary>
    public sealed class ForeignAwsPsCredentials(object inner)
    {
        private object Credentials { get; } = inner;
        public override string ToString() => Credentials.GetType().Name;
    }

    public sealed class ThrowingCredentials
    {
        public ForeignImmutableCredentials GetCredentials() => throw new InvalidOperationException("expired");
    }
}
