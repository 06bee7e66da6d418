using System;
using System.Collections.Generic;
using System.Linq;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.Util;

namespace Avtomat.Ec2.Engine.Context;

/// <summary>Profiles by name from one location (a shared credentials file) or the SDK's default stores.</summary>
internal interface IProfileStore
{
    bool TryGetProfile(string name, out CredentialProfile? profile);
    AWSCredentials GetCredentials(CredentialProfile profile);
}

/// <summary>The SDK's profile stores: <see cref="CredentialProfileStoreChain"/> over <c>-ProfileLocation</c>, or, without
/// one, the SDK store (Windows) and the shared credentials/config files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE).</summary>
internal sealed class SdkProfileStore : IProfileStore
{
    private readonly CredentialProfileStoreChain _chain;

    public SdkProfileStore(string? location)
    {
        _chain = string.IsNullOrEmpty(location) ? new CredentialProfileStoreChain() : new CredentialProfileStoreChain(location);
    }

    public bool TryGetProfile(string name, out CredentialProfile? profile)
    {
        var found = _chain.TryGetProfile(name, out var p);
        profile = found ? p : null;
        return found;
    }

    public AWSCredentials GetCredentials(CredentialProfile profile) => AWSCredentialsFactory.GetAWSCredentials(profile, _chain);
}

/// <summary>Everything the resolution reads: the cmdlet's parameters, the caller's variables (unwrapped values), the
/// environment, the profile stores, the SDK's default chain and instance metadata. Tests replace the functions; the
/// SDK-typed ones are internal, so nothing typed by the engine's AWSSDK copy crosses to the caller.</summary>
public sealed class AwsContextInputs
{
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    public string? SessionToken { get; set; }
    public string? ProfileName { get; set; }
    public string? ProfileLocation { get; set; }
    public object? Credential { get; set; }
    public string? EndpointUrl { get; set; }
    /// <summary>The cmdlet's own region parameter value (-Region, -SourceRegion, …).</summary>
    public string? Region { get; set; }
    /// <summary>Put before ProfileName and Credential in messages: "Destination" for a vault copy's destination
    /// account (-DestinationProfileName, -DestinationCredential), else empty.</summary>
    public string ParameterPrefix { get; set; } = "";
    /// <summary>Its name without the dash, for messages ("Region", "SourceRegion").</summary>
    public string RegionParameterName { get; set; } = "Region";

    /// <summary>A variable of the caller's session state (<c>StoredAWSCredentials</c>, <c>StoredAWSRegion</c>).</summary>
    public Func<string, object?> GetVariable { get; set; } = _ => null;
    public Func<string, string?> GetEnvironmentVariable { get; set; } = Environment.GetEnvironmentVariable;
    /// <summary>Opens the profile stores for a -ProfileLocation (null: the SDK's default locations).</summary>
    internal Func<string?, IProfileStore> OpenProfileStore { get; set; } = location => new SdkProfileStore(location);
    /// <summary>The SDK's default credential chain; throws when it finds nothing.</summary>
    internal Func<AWSCredentials> DefaultCredentials { get; set; } = () => DefaultAWSCredentialsIdentityResolver.GetCredentials();
    /// <summary>The region of the EC2 instance we run on, or null. Only called when AWS_EC2_METADATA_DISABLED is not true.</summary>
    internal Func<string?> InstanceMetadataRegion { get; set; } = DefaultInstanceMetadataRegion;

    private static string? DefaultInstanceMetadataRegion()
    {
        // The SDK honours AWS_EC2_METADATA_DISABLED itself too; never let a failed lookup escape.
        try { return EC2InstanceMetadata.IsIMDSEnabled ? EC2InstanceMetadata.Region?.SystemName : null; }
        catch (Exception) { return null; }
    }
}

/// <summary>
/// Resolves credentials and region in the AWS Tools 5.x order (see the facts sheet):
/// <para>Credentials: -AccessKey/-SecretKey/-SessionToken → -ProfileName (+ -ProfileLocation; a missing profile is an
/// error) → -Credential → $StoredAWSCredentials → the SDK default chain (environment, AWS_PROFILE or default profile,
/// web identity, container, instance metadata).</para>
/// <para>Region: the cmdlet's region parameter → $StoredAWSRegion → the region of the -ProfileName profile, then of
/// `default`, then of `AWS PS Default` → AWS_REGION → AWS_DEFAULT_REGION (like the AWS CLI) → the AWS_PROFILE profile's
/// region (like the SDK) → instance metadata (unless AWS_EC2_METADATA_DISABLED=true).</para>
/// Failures are <see cref="AwsContextException"/>s whose messages never contain a secret.
/// </summary>
internal sealed class AwsContextResolver
{
    public const string StoredCredentialsVariable = "StoredAWSCredentials";
    public const string StoredRegionVariable = "StoredAWSRegion";
    public const string DefaultProfileName = "default";
    public const string PsDefaultProfileName = "AWS PS Default";

    private readonly AwsContextInputs _in;
    private IProfileStore? _profiles;

    public AwsContextResolver(AwsContextInputs inputs) => _in = inputs ?? throw new ArgumentNullException(nameof(inputs));

    public AwsContext Resolve()
    {
        var endpoint = ValidateEndpointUrl(_in.EndpointUrl);
        var (credentials, credentialSource) = ResolveCredentials();
        var (region, regionSource) = ResolveRegion();
        return new AwsContext(credentials, credentialSource, region, regionSource, endpoint);
    }

    // ---------------------------------------------------------------- credentials

    public (AWSCredentials Credentials, string Source) ResolveCredentials()
    {
        var accessKey = Blank(_in.AccessKey);
        var secretKey = Blank(_in.SecretKey);
        var token = Blank(_in.SessionToken);
        if (accessKey != null || secretKey != null || token != null)
        {
            if (accessKey == null || secretKey == null)
            {
                var missing = accessKey == null ? "-AccessKey" : "-SecretKey";
                throw new AwsContextException(AwsContextException.IncompleteCredentialParameters, EngineErrorCategory.InvalidArgument,
                    $"{missing} is missing: -AccessKey and -SecretKey must be given together (with -SessionToken for temporary credentials).",
                    $"Pass both -AccessKey and -SecretKey, or use -ProfileName, -Credential or Set-AWSCredential instead.",
                    missing);
            }
            AWSCredentials explicitCredentials = token == null
                ? new BasicAWSCredentials(accessKey, secretKey)
                : new SessionAWSCredentials(accessKey, secretKey, token);
            return (explicitCredentials, token == null ? "parameters -AccessKey/-SecretKey" : "parameters -AccessKey/-SecretKey/-SessionToken");
        }

        var profileName = Blank(_in.ProfileName);
        if (profileName != null)
        {
            var profileParameter = "-" + _in.ParameterPrefix + "ProfileName";
            return (ProfileCredentials(profileName, profileParameter), $"profile '{profileName}' ({profileParameter}{LocationSuffix()})");
        }

        if (_in.Credential != null && CredentialShapes.Unwrap(_in.Credential) != null)
        {
            var fromParameter = CredentialShapes.TryRead(_in.Credential)
                ?? throw InvalidCredentialObject(_in.Credential, "-" + _in.ParameterPrefix + "Credential");
            return (fromParameter, "parameter -" + _in.ParameterPrefix + "Credential");
        }

        var stored = CredentialShapes.Unwrap(SafeGetVariable(StoredCredentialsVariable));
        if (stored != null)
        {
            if (stored is string storedProfile)
            {
                // Older AWS Tools kept a profile name here.
                if (!string.IsNullOrWhiteSpace(storedProfile))
                    return (ProfileCredentials(storedProfile.Trim(), "$" + StoredCredentialsVariable), $"${StoredCredentialsVariable} (profile '{storedProfile.Trim()}')");
            }
            else
            {
                var fromVariable = CredentialShapes.TryRead(stored) ?? throw InvalidCredentialObject(stored, "$" + StoredCredentialsVariable);
                return (fromVariable, "$" + StoredCredentialsVariable);
            }
        }

        AWSCredentials fromChain;
        try
        {
            fromChain = _in.DefaultCredentials();
        }
        catch (Exception e)
        {
            throw new AwsContextException(AwsContextException.CredentialsNotFound, EngineErrorCategory.AuthenticationError,
                "No AWS credentials were specified or found: no -AccessKey/-SecretKey, -ProfileName, -Credential or $StoredAWSCredentials, "
                + "and the SDK's default chain (environment variables, AWS_PROFILE or the 'default' profile, web identity, container, instance metadata) found none"
                + $"{ChainFailures(e.Message)}. Pass -ProfileName <profile>, or -AccessKey and -SecretKey, or run Set-AWSCredential first.",
                "Pass -AccessKey and -SecretKey, or -ProfileName, or run Set-AWSCredential (AWS.Tools.Common) first, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE.",
                null, null);
        }
        if (fromChain == null)
            throw new AwsContextException(AwsContextException.CredentialsNotFound, EngineErrorCategory.AuthenticationError,
                "No AWS credentials were specified or found. Pass -ProfileName <profile>, or -AccessKey and -SecretKey, or run Set-AWSCredential first.",
                "Pass -AccessKey and -SecretKey, or -ProfileName, or run Set-AWSCredential (AWS.Tools.Common) first.");
        var chainSource = DescribeChainCredentials(fromChain);
        Prime(fromChain, e => new AwsContextException(AwsContextException.CredentialsUnavailable, CategoryOf(e),
            $"The SDK's default credential chain chose {chainSource}{ChainRole(fromChain)}, which could not provide credentials: {DescribeCredentialFailure(e)}",
            "Check the environment (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, AWS_PROFILE, container or instance role); "
            + "to use a private STS endpoint, set AWS_ENDPOINT_URL_STS.", null, null));
        return (fromChain, "the SDK default chain: " + chainSource);
    }

    /// <summary>What the SDK's default chain said when it found no credentials. Its message is a heading ending in
    /// "returned the following errors:" and one "Exception i of n: …" line per provider; the heading alone would end the
    /// message dangling, so the providers' first lines are listed (redacted) or, when there are none, nothing is added.</summary>
    private string ChainFailures(string message)
    {
        var lines = (message ?? "").Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries);
        var failures = new List<string>();
        foreach (var line in lines)
        {
            var text = line.Trim();
            var marker = text.StartsWith("Exception ", StringComparison.Ordinal) ? text.IndexOf(": ", StringComparison.Ordinal) : -1;
            if (marker > 0 && text.Length > marker + 2) failures.Add(Redact(text.Substring(marker + 2).Trim()));
        }
        if (failures.Count > 0) return $" ({string.Join("; ", failures.Select(f => f.TrimEnd('.')))})";
        var first = Redact(FirstLine(message ?? "")).Trim().TrimEnd('.');
        return first.Length == 0 || first.EndsWith(":", StringComparison.Ordinal) ? "" : $" (SDK: {first})";
    }

    private AWSCredentials ProfileCredentials(string name, string via)
    {
        var store = Profiles();
        CredentialProfile? profile;
        try
        {
            store.TryGetProfile(name, out profile);
        }
        catch (Exception e)
        {
            throw new AwsContextException(AwsContextException.ProfileCredentialsUnavailable, EngineErrorCategory.ReadError,
                $"The profile stores{LocationText()} could not be read looking for profile '{name}' ({via}): {Redact(FirstLine(e.Message))}",
                "Check the credentials and config files, or pass -ProfileLocation to point at the right file.", name, null);
        }
        if (profile == null)
        {
            throw new AwsContextException(AwsContextException.ProfileNotFound, EngineErrorCategory.ObjectNotFound,
                $"The AWS credentials profile '{name}' ({via}) was not found{LocationText()}.",
                "Check the profile name (Get-AWSCredential -ListProfileDetail lists them), pass -ProfileLocation for another credentials file, "
                + "or create it with Set-AWSCredential -StoreAs or 'aws configure --profile'.",
                name);
        }
        AWSCredentials credentials;
        try
        {
            credentials = store.GetCredentials(profile);
        }
        catch (Exception e)
        {
            throw new AwsContextException(AwsContextException.ProfileCredentialsUnavailable, EngineErrorCategory.AuthenticationError,
                $"The AWS credentials profile '{name}' ({via}) cannot provide credentials: {Redact(FirstLine(e.Message))}",
                "Fix the profile (keys, role_arn/source_profile, credential_process or SSO settings; for SSO run 'aws sso login'), or use other credentials.",
                name, null);
        }
        Prime(credentials, e => new AwsContextException(AwsContextException.ProfileCredentialsUnavailable, CategoryOf(e),
            $"The AWS credentials profile '{name}' ({via}) {WhatFailed(profile.Options)}: {DescribeCredentialFailure(e)}",
            RecommendationFor(profile.Options), name, null));
        return credentials;
    }

    /// <summary>Credentials that are fetched (an assumed role, web identity, credential_process, SSO, container or
    /// instance roles) are fetched once here, on the pipeline thread, so that a source that cannot provide them stops
    /// the command with an error naming where they came from, instead of failing every EC2 call with the SDK's words.
    /// The credentials object keeps what it fetched: the first EC2 call reuses it.</summary>
    private static void Prime(AWSCredentials credentials, Func<Exception, AwsContextException> failure)
    {
        if (credentials is BasicAWSCredentials || credentials is SessionAWSCredentials) return;
        try
        {
            credentials.GetCredentials();
        }
        catch (Exception e)
        {
            throw failure(e);
        }
    }

    private static string WhatFailed(CredentialProfileOptions options)
    {
        if (!string.IsNullOrEmpty(options.WebIdentityTokenFile))
            return $"could not assume role {options.RoleArn} with the web identity token in '{options.WebIdentityTokenFile}'";
        if (!string.IsNullOrEmpty(options.RoleArn))
        {
            var source = !string.IsNullOrEmpty(options.SourceProfile) ? $" (source_profile '{options.SourceProfile}')"
                : !string.IsNullOrEmpty(options.CredentialSource) ? $" (credential_source {options.CredentialSource})" : "";
            return $"could not assume role {options.RoleArn}{source}";
        }
        // The command line is not repeated: it may carry arguments that are secret.
        if (!string.IsNullOrEmpty(options.CredentialProcess)) return "could not get credentials from its credential_process";
        if (!string.IsNullOrEmpty(options.SsoSession) || !string.IsNullOrEmpty(options.SsoStartUrl))
            return $"could not get SSO credentials for account {options.SsoAccountId}, role {options.SsoRoleName}";
        return "cannot provide credentials";
    }

    private static string RecommendationFor(CredentialProfileOptions options)
    {
        if (!string.IsNullOrEmpty(options.WebIdentityTokenFile))
            return "Check that the token file holds a current token from the identity provider and that the role's trust policy accepts it; "
                   + "to use a private STS endpoint, set AWS_ENDPOINT_URL_STS (or endpoint_url in the profile).";
        if (!string.IsNullOrEmpty(options.RoleArn))
            return "Check the role ARN, that the source credentials are valid and that the role's trust policy lets them assume it (sts:AssumeRole); "
                   + "to use a private STS endpoint, set AWS_ENDPOINT_URL_STS (or endpoint_url in the profile).";
        if (!string.IsNullOrEmpty(options.CredentialProcess))
            return "Run the credential_process command yourself: it must exit with 0 and print the credentials JSON (Version 1) on standard output.";
        if (!string.IsNullOrEmpty(options.SsoSession) || !string.IsNullOrEmpty(options.SsoStartUrl))
            return "Sign in again with 'aws sso login' (the cached SSO token may have expired), then run the same command again.";
        return "Fix the profile (keys, role_arn/source_profile, credential_process or SSO settings), or use other credentials.";
    }

    /// <summary>What the credential source answered: the STS/SSO error code and message when a service refused, else the
    /// first line of each message down the chain (the SDK wraps the cause). Known secrets are redacted.</summary>
    private string DescribeCredentialFailure(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is AmazonServiceException service && !string.IsNullOrEmpty(service.ErrorCode))
                return Redact($"{service.ErrorCode}: {FirstLine(service.Message)}");
        }
        var parts = new List<string>();
        for (var e = exception; e != null && parts.Count < 3; e = e.InnerException)
        {
            var line = FirstLine(e.Message);
            if (!string.IsNullOrEmpty(line) && !parts.Contains(line)) parts.Add(line);
        }
        return Redact(string.Join(" ", parts));
    }

    private static EngineErrorCategory CategoryOf(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is AmazonServiceException service && !string.IsNullOrEmpty(service.ErrorCode))
                return service.ErrorCode is "AccessDenied" or "AccessDeniedException" or "ForbiddenException"
                    ? EngineErrorCategory.PermissionDenied
                    : EngineErrorCategory.AuthenticationError;
            if (e is System.Net.Http.HttpRequestException || e is System.Net.Sockets.SocketException) return EngineErrorCategory.ConnectionError;
        }
        return EngineErrorCategory.AuthenticationError;
    }

    private AwsContextException InvalidCredentialObject(object value, string where)
    {
        var type = CredentialShapes.Unwrap(value)?.GetType().FullName ?? "null";
        return new AwsContextException(AwsContextException.InvalidCredentialObject, EngineErrorCategory.InvalidArgument,
            $"{where} holds a {type}, which is not an AWS credentials object: expected an Amazon.Runtime.AWSCredentials "
            + "(from any AWSSDK copy), an AWSPSCredentials from Set-AWSCredential/Get-AWSCredential, or an object with a GetCredentials() method.",
            where.EndsWith("Credential", StringComparison.Ordinal)
                ? $"Pass the result of Get-AWSCredential or New-AWSCredential to {where}, or use -{_in.ParameterPrefix}ProfileName" +
                  (_in.ParameterPrefix.Length == 0 ? " or -AccessKey/-SecretKey." : ".")
                : "Run Set-AWSCredential again (or Clear-AWSCredential), or pass -ProfileName or -Credential.",
            type);
    }

    /// <summary>" for role ARN" when the chain's credentials assume a role (web identity from the environment).</summary>
    private static string ChainRole(AWSCredentials credentials) =>
        credentials is AssumeRoleWithWebIdentityCredentials web ? $" for role {web.RoleArn}"
        : credentials is AssumeRoleAWSCredentials role ? $" for role {role.RoleArn}" : "";

    private string DescribeChainCredentials(AWSCredentials credentials)
    {
        var name = credentials.GetType().Name;
        if (name.IndexOf("EnvironmentVariables", StringComparison.Ordinal) >= 0) return "environment variables (AWS_ACCESS_KEY_ID)";
        if (name.IndexOf("WebIdentity", StringComparison.Ordinal) >= 0) return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
        if (name.IndexOf("ECSTask", StringComparison.Ordinal) >= 0 || name.IndexOf("Container", StringComparison.Ordinal) >= 0) return "container credentials";
        if (name.IndexOf("InstanceProfile", StringComparison.Ordinal) >= 0) return "instance metadata (instance profile)";
        var profile = Blank(_in.GetEnvironmentVariable("AWS_PROFILE"));
        return profile != null ? $"profile '{profile}' (AWS_PROFILE)" : $"profile '{DefaultProfileName}' ({name})";
    }

    // ---------------------------------------------------------------- region

    public (string Region, string Source) ResolveRegion()
    {
        var region = Blank(_in.Region);
        if (region != null) return (region, "-" + _in.RegionParameterName);

        var stored = RegionText(SafeGetVariable(StoredRegionVariable));
        if (stored != null) return (stored, "$" + StoredRegionVariable);

        var names = new List<string>();
        var profileName = Blank(_in.ProfileName);
        if (profileName != null) names.Add(profileName);
        names.Add(DefaultProfileName);
        names.Add(PsDefaultProfileName);
        foreach (var name in names)
        {
            var fromProfile = ProfileRegion(name);
            if (fromProfile != null) return (fromProfile, $"profile '{name}'{LocationSuffixForRegion()}");
        }

        foreach (var variable in new[] { "AWS_REGION", "AWS_DEFAULT_REGION" })
        {
            var value = Blank(_in.GetEnvironmentVariable(variable));
            if (value != null) return (value, $"environment variable {variable}");
        }

        var envProfile = Blank(_in.GetEnvironmentVariable("AWS_PROFILE"));
        if (envProfile != null && !names.Contains(envProfile))
        {
            var fromProfile = ProfileRegion(envProfile);
            if (fromProfile != null) return (fromProfile, $"profile '{envProfile}' (AWS_PROFILE)");
        }

        if (!IsTrue(_in.GetEnvironmentVariable("AWS_EC2_METADATA_DISABLED")))
        {
            string? fromImds = null;
            try { fromImds = Blank(_in.InstanceMetadataRegion()); }
            catch (Exception) { }
            if (fromImds != null) return (fromImds, "instance metadata");
        }

        var parameter = "-" + _in.RegionParameterName;
        // -SourceRegion (Copy-AvSnapshot, Measure-AvSnapshotCopy) is named with what it is for: there -Region is where
        // the copy is made, so a user who was told "-Region" would meet RegionConflictsWithDestinationRegion next.
        var purpose = _in.RegionParameterName == "SourceRegion" ? " (the region the snapshots are in)" : "";
        throw new AwsContextException(AwsContextException.RegionNotFound, EngineErrorCategory.ObjectNotFound,
            $"No region specified or obtained from persisted/shell defaults. Pass {parameter}{purpose}, run Set-DefaultAWSRegion, or set $env:AWS_REGION.",
            $"Pass {parameter} (e.g. {parameter} us-east-1), run Set-DefaultAWSRegion -Region <region> (AWS.Tools.Common), "
            + "set $env:AWS_REGION, or add 'region = <region>' to the profile you use.",
            parameter);
    }

    private string? ProfileRegion(string name)
    {
        try
        {
            if (Profiles().TryGetProfile(name, out var profile) && profile?.Region != null)
                return Blank(profile.Region.SystemName);
        }
        catch (Exception)
        {
            // A region fallback: unreadable stores simply do not provide one.
        }
        return null;
    }

    private static string? RegionText(object? value)
    {
        value = CredentialShapes.Unwrap(value);
        switch (value)
        {
            case null: return null;
            case string s: return Blank(s);
            case Amazon.RegionEndpoint r: return Blank(r.SystemName);
        }
        // A RegionEndpoint of another SDK load, or similar.
        var systemName = value.GetType().GetProperty("SystemName")?.GetValue(value, null) as string;
        return Blank(systemName ?? value.ToString());
    }

    // ---------------------------------------------------------------- endpoint

    public static string? ValidateEndpointUrl(string? endpointUrl)
    {
        var url = Blank(endpointUrl);
        if (url == null) return null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            throw new AwsContextException(AwsContextException.InvalidEndpointUrl, EngineErrorCategory.InvalidArgument,
                $"-EndpointUrl '{AwsContext.RedactUrl(url)}' is not an absolute http or https URL.",
                "Pass a URL such as https://ec2.us-east-1.amazonaws.com or http://127.0.0.1:4566 (the region still comes from -Region or the defaults).",
                AwsContext.RedactUrl(url));
        }
        return url;
    }

    // ---------------------------------------------------------------- helpers

    private IProfileStore Profiles() => _profiles ??= _in.OpenProfileStore(Blank(_in.ProfileLocation));

    private object? SafeGetVariable(string name)
    {
        try { return _in.GetVariable(name); }
        catch (Exception) { return null; }
    }

    private string LocationText() => Blank(_in.ProfileLocation) is { } l ? $" in '{l}'" : " in the SDK store or the shared credentials and config files";
    private string LocationSuffix() => Blank(_in.ProfileLocation) is { } l ? $", -ProfileLocation '{l}'" : "";
    private string LocationSuffixForRegion() => Blank(_in.ProfileLocation) is { } l ? $" in '{l}'" : "";

    /// <summary>Removes any secret we know of from a message (parameters; foreign texts can echo them).</summary>
    public string Redact(string message)
    {
        if (string.IsNullOrEmpty(message)) return message;
        foreach (var secret in new[] { _in.SecretKey, _in.SessionToken })
        {
            if (!string.IsNullOrEmpty(secret) && secret!.Length >= 4) message = message.Replace(secret, "****");
        }
        return message;
    }

    internal static string FirstLine(string message)
    {
        if (string.IsNullOrEmpty(message)) return message;
        var i = message.IndexOfAny(new[] { '\r', '\n' });
        return i < 0 ? message : message.Substring(0, i);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value!.Trim();

    private static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
}
