using System;
using System.Management.Automation;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Errors;

namespace Avtomat.Ec2.Context;

/// <summary>AWS Tools' common credential parameters, with their aliases, and the context they resolve to.
/// Each cmdlet declares its own region parameter and passes its value to <see cref="ResolveAwsContext"/>.</summary>
public abstract class AwsCmdlet : PSCmdlet
{
    /// <summary>The AWS access key id of the credentials to use.</summary>
    [Parameter(ValueFromPipelineByPropertyName = false)]
    [Alias("AK")]
    public string? AccessKey { get; set; }

    /// <summary>The AWS secret access key of the credentials to use.</summary>
    [Parameter]
    [Alias("SK", "SecretAccessKey")]
    public string? SecretKey { get; set; }

    /// <summary>The session token of temporary credentials.</summary>
    [Parameter]
    [Alias("ST")]
    public string? SessionToken { get; set; }

    /// <summary>The name of a profile in the SDK store or the shared credentials file.</summary>
    [Parameter]
    [Alias("StoredCredentials", "AWSProfileName")]
    public string? ProfileName { get; set; }

    /// <summary>The shared credentials file to read -ProfileName from.</summary>
    [Parameter]
    [Alias("AWSProfilesLocation", "ProfilesLocation")]
    public string? ProfileLocation { get; set; }

    /// <summary>An AWSCredentials object (from any AWSSDK or AWS.Tools load), read by shape.</summary>
    [Parameter]
    public object? Credential { get; set; }

    /// <summary>The EC2 endpoint to call instead of AWS's (for example an emulator or a VPC endpoint).</summary>
    [Parameter]
    public string? EndpointUrl { get; set; }

    /// <summary>Resolves credentials and region in the AWS Tools 5.x order (facts sheet), reading
    /// $StoredAWSCredentials and $StoredAWSRegion from the caller's session state. A missing region or missing
    /// credentials is a terminating error naming the parameter, variable or cmdlet that fixes it.</summary>
    /// <param name="region">The cmdlet's own -Region (or -SourceRegion) value, or null.</param>
    /// <param name="regionSource">Where <paramref name="region"/> came from when that is not the parameter the resolver
    /// would name (e.g. "the piped object", "$StoredAWSRegion"), for the verbose line; null: the resolver's own.</param>
    protected AwsContext ResolveAwsContext(string? region, string? regionSource = null)
    {
        var inputs = CreateContextInputs(region);
        AwsContext context;
        try
        {
            context = SnapshotEngine.ResolveContext(inputs);
        }
        catch (AwsContextException e)
        {
            ThrowTerminatingError(ErrorRecordFactory.FromContextError(e));
            throw; // not reached: ThrowTerminatingError always throws
        }

        var endpoint = context.EndpointUrl != null ? $"; endpoint {AwsContext.RedactUrl(context.EndpointUrl)}" : "";
        var regionFrom = region != null && regionSource != null ? regionSource : context.RegionSource;
        WriteVerbose($"Using credentials from {context.CredentialSource}; region {context.Region} from {regionFrom}{endpoint}.");
        WarnIfUnknownRegion(context.Region, regionFrom);
        return context;
    }

    /// <summary>The region the AWS Tools defaults give when no region parameter is passed ($StoredAWSRegion, profiles,
    /// AWS_REGION, …, instance metadata), and where it came from; false when none is set. Reads no credentials.</summary>
    protected bool TryResolveDefaultRegion(out string region, out string source)
    {
        try
        {
            (region, source) = SnapshotEngine.ResolveRegion(CreateContextInputs(null));
            return true;
        }
        catch (AwsContextException)
        {
            region = source = "";
            return false;
        }
    }

    // ---- Warning, verbose and debug lines that -Debug cannot turn into a failure ---------------------------------
    //
    // Under -Debug PowerShell asks "Continue?" after each warning and verbose line (PowerShell 7.6, MshCommandRuntime:
    // WarningPreference is Inquire when -Debug is set and -WarningAction is not; VerbosePreference is Inquire when -Debug
    // is set without -Verbose and the host has a UI), and after each debug line in Windows PowerShell 5.1 (-Debug sets
    // $DebugPreference to Inquire there, Continue in 7: Write-Debug help, Example 3,
    // https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/write-debug?view=powershell-5.1).
    // The line is written before the question; a host that cannot ask (pwsh -NonInteractive: "PowerShell is in
    // NonInteractive mode…", a hosted runspace without a UI: HostException) makes the question throw, which ended the
    // command with that instead of its own result or error. Here the question that cannot be asked gets the answer
    // the prompt offers by default (Yes, continue), so -Debug never changes the outcome. An interactive host still
    // asks, and its Halt still stops the command.

    /// <summary>WriteWarning that -Debug in a host that cannot prompt does not turn into a failure (see above).</summary>
    private protected new void WriteWarning(string text) => WriteDespiteDebug(() => base.WriteWarning(text));

    /// <summary>WriteVerbose that -Debug in a host that cannot prompt does not turn into a failure (see above).</summary>
    private protected new void WriteVerbose(string text) => WriteDespiteDebug(() => base.WriteVerbose(text));

    /// <summary>WriteDebug that -Debug in a host that cannot prompt does not turn into a failure (see above).</summary>
    private protected new void WriteDebug(string text) => WriteDespiteDebug(() => base.WriteDebug(text));

    private void WriteDespiteDebug(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when ((e is System.Management.Automation.Host.HostException || e is PSInvalidOperationException) && DebugIsBound())
        {
            // The line was written; only the question after it failed (no UI, or NonInteractive): continue.
        }
    }

    private bool DebugIsBound() =>
        MyInvocation?.BoundParameters is { } bound && bound.TryGetValue("Debug", out var value) && LanguagePrimitives.IsTrue(value);

    /// <summary>Writes a warning when <paramref name="region"/> is well-formed but not in the SDK's region list (it may be
    /// newer than the SDK: it is used anyway). Returns true when it warned.</summary>
    protected bool WarnIfUnknownRegion(string region, string source)
    {
        var warning = RegionNames.UnknownRegionWarning(region, source);
        if (warning == null) return false;
        WriteWarning(warning);
        return true;
    }

    /// <summary>The resolution's inputs from this cmdlet's parameters and the caller's session state.</summary>
    internal AwsContextInputs CreateContextInputs(string? region)
    {
        var state = SessionState;
        return new AwsContextInputs
        {
            AccessKey = AccessKey,
            SecretKey = SecretKey,
            SessionToken = SessionToken,
            ProfileName = ProfileName,
            ProfileLocation = ProfileLocationPath(),
            Credential = Credential,
            EndpointUrl = EndpointUrl,
            Region = region,
            RegionParameterName = RegionParameterName(),
            // PSObject-wrapped values are unwrapped by the engine, by shape (it has no PowerShell reference).
            GetVariable = name => state.PSVariable.GetValue(name),
        };
    }

    /// <summary>-ProfileLocation as a file system path: a relative path (./credentials, ~/.aws/prod) is relative to the
    /// PowerShell location, as every path a cmdlet takes, not to the process's working directory.</summary>
    private string? ProfileLocationPath()
    {
        if (string.IsNullOrWhiteSpace(ProfileLocation)) return ProfileLocation;
        try
        {
            return SessionState.Path.GetUnresolvedProviderPathFromPSPath(ProfileLocation!.Trim());
        }
        catch (Exception e) when (e is ProviderNotFoundException or DriveNotFoundException or NotSupportedException or PSInvalidOperationException)
        {
            return ProfileLocation; // not a file system path: the SDK says what it finds there
        }
    }

    private string RegionParameterName()
    {
        // The context's region comes from the cmdlet's own parameter: name it as the user typed it.
        var bound = MyInvocation?.BoundParameters;
        if (bound != null)
        {
            foreach (var name in new[] { "SourceRegion", "Region" })
            {
                if (bound.ContainsKey(name)) return name;
            }
        }
        return RegionParameterForHints;
    }

    /// <summary>The parameter a "no region" error tells the user to pass when no region parameter was given: the one
    /// that works in this command. -Region for the commands whose region is where their calls go; Copy-AvSnapshot and
    /// Measure-AvSnapshotCopy say -SourceRegion (the region the snapshots are in): there -Region is where the copy is
    /// made, and it conflicts with -DestinationRegion.</summary>
    private protected virtual string RegionParameterForHints => "Region";

    /// <summary>EC2 clients for the resolved context, with our module name and version in each request's user agent.
    /// The caller disposes it at the end of the invocation.</summary>
    protected Ec2ClientSource CreateClientSource(AwsContext context)
    {
        if (context == null) throw new ArgumentNullException(nameof(context));
        return SnapshotEngine.OpenClients(context, ModuleInfo.UserAgentComponent);
    }
}
