using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Errors;
using Avtomat.Ec2.Progress;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// The pipeline plumbing every engine-backed cmdlet shares: the AWS context and client source of the invocation, a job
/// whose events are drained on the pipeline thread only (without blocking in ProcessRecord, in a timed loop in
/// EndProcessing), progress records refreshed at most every 300 ms, Ctrl+C that only cancels (StopProcessing), and a
/// try/finally around every drain so an <c>-ErrorAction Stop</c> throw also cancels the job's workers.
/// </summary>
/// <typeparam name="TRequest">What the cmdlet hands the engine (the events' Request).</typeparam>
/// <typeparam name="TResult">What the cmdlet outputs, one per item as it finishes.</typeparam>
public abstract class EngineCmdlet<TRequest, TResult> : AwsCmdlet, IDisposable where TRequest : class where TResult : class
{
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(300);

    /// <summary>How verbose lines name a region read from a pipeline input object.</summary>
    private protected const string PipedObject = "the piped object";

    private readonly CancellationTokenSource _cancellation = new();
    private readonly HashSet<string> _checkedRegions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _provenance = new(StringComparer.Ordinal);
    private readonly object _disposeGate = new();
    private AwsContext? _context;
    private IEc2ClientSourceLifetime? _clients;
    /// <summary>A vault copy's destination account's clients (disposed with <see cref="_clients"/>).</summary>
    private IEc2ClientSourceLifetime? _destinationClients;
    private readonly Dictionary<string, int> _finished = new(StringComparer.Ordinal);
    /// <summary>Snapshots EC2 accepted whose final result was not written (by snapshot id), for the stop warning.</summary>
    private readonly Dictionary<string, TResult> _running = new(StringComparer.Ordinal);
    private ProgressTreeWriter? _progress;
    private SnapshotJob<TRequest, TResult>? _job;
    private bool _disposed;

    /// <summary>Cancelled by Ctrl+C (StopProcessing), by Dispose and by an error that ends the pipeline.</summary>
    private protected CancellationToken Cancellation => _cancellation.Token;

    /// <summary>When the job was started (for the summary).</summary>
    private protected DateTime StartedUtc { get; private set; }

    /// <summary>Seconds to wait for the whole job; -1 waits as long as it takes. What is unfinished then ends TimedOut
    /// (and keeps running in EC2 if it started).</summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateTimeout]
    public int Timeout { get; set; } = -1;

    /// <summary>Requests handed to the job, for the summary.</summary>
    private protected int Requests { get; set; }

    // ---- What a derived cmdlet supplies ----------------------------------------------------------------------

    /// <summary>"Copy-AvSnapshot", for the summary.</summary>
    private protected abstract string CommandLabel { get; }

    /// <summary>What <see cref="Requests"/> counts, for the summary ("copy", "copies").</summary>
    private protected abstract (string Singular, string Plural) SummaryNoun { get; }

    /// <summary>The job's progress as parent and child records.</summary>
    private protected abstract IReadOnlyList<ProgressNode> ToProgress(IReadOnlyList<RegionProgress> progress);

    /// <summary>The verbose line for an item EC2 accepted (null: none).</summary>
    private protected virtual string? AcceptedMessage(TResult result) => null;

    /// <summary>A finished result goes to the pipeline (a plan collects them instead).</summary>
    private protected virtual void WriteResult(TResult result) => WriteObject(result);

    /// <summary>Every result is in (pipeline thread, before the summary).</summary>
    private protected virtual void AllFinished()
    {
    }

    /// <summary>Children per region in the progress display of creations and waits (more in flight still count in the
    /// parent's status); copies show up to -ThrottleLimit.</summary>
    private protected const int SnapshotProgressSlots = 20;

    // ---- The job ---------------------------------------------------------------------------------------------

    private protected bool HasJob => _job is not null;

    /// <summary>The invocation's job, started on first use: the AWS context (<paramref name="context"/>, resolved first),
    /// the clients (and the account, learned here), -Timeout and the tuned poll interval on <paramref name="options"/>,
    /// then <paramref name="start"/>.</summary>
    private protected TJob StartOnce<TJob, TOptions>(Func<AwsContext> context, int progressSlots, TOptions options,
        Func<IEc2ClientSource, TOptions, CancellationToken, TJob> start) where TJob : SnapshotJob<TRequest, TResult> where TOptions : JobOptions
    {
        if (_job is TJob existing)
        {
            return existing;
        }
        var clients = OpenClients(context(), progressSlots);
        options.Timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null;
        if (EngineTuning.PollInterval is { } interval)
        {
            options.PollInterval = interval;
        }
        if (EngineTuning.VisibilityGrace is { } grace)
        {
            options.VisibilityGrace = grace;
        }
        var job = start(clients, options, Cancellation);
        _job = job;
        return job;
    }

    private bool JobIsFinished => _job?.IsFinished ?? true;

    /// <summary>Turns one event into Write* calls (pipeline thread).</summary>
    private void HandleEvent(JobEvent<TRequest> jobEvent)
    {
        Track(jobEvent);
        switch (jobEvent)
        {
            case ItemAcceptedEvent<TRequest, TResult> accepted:
                if (AcceptedMessage(accepted.Result) is { } line)
                {
                    WriteVerbose(line);
                }
                break;
            case ItemFinishedEvent<TRequest, TResult> finished:
                // The module's two result types: a copy, or a snapshot made or waited for.
                var (label, error) = finished.Result switch
                {
                    SnapshotCopyResult copy => (copy.Reused ? "reused" : StateLabel(copy.State), finished.Error is { } e ? ErrorRecordFactory.FromEngineError(e, copy) : null),
                    SnapshotResult snapshot => (StateLabel(snapshot.State), finished.Error is { } e ? ErrorRecordFactory.FromEngineError(e, snapshot) : null),
                    _ => throw new InvalidOperationException($"Unknown result type {finished.Result.GetType().Name}."),
                };
                _finished[label] = _finished.TryGetValue(label, out var n) ? n + 1 : 1;
                WriteResult(finished.Result);
                if (error is not null)
                {
                    WriteError(error);
                }
                break;
            case JobMessageEvent<TRequest> message:
                WriteEngineMessage(message.Level, message.Message);
                break;
        }
    }

    /// <summary>Written once at the end (verbose): counts, time, EC2 calls.</summary>
    private void WriteSummary()
    {
        if (Requests == 0)
        {
            return;
        }
        WriteCountSummary(CommandLabel, Requests, SummaryNoun.Singular, SummaryNoun.Plural, StateCounts(_finished));
        var job = _job;
        WriteStatistics(() => job?.Statistics);
    }

    // ---- Pipeline ----------------------------------------------------------------------------------------------

    /// <summary>Ctrl+C (or PowerShell.Stop): cancel only. The pipeline thread notices, stops waiting and releases.
    /// Work EC2 already accepted keeps running; its ids were written as it was accepted.</summary>
    protected override void StopProcessing() => _cancellation.Cancel();

    protected override void EndProcessing()
    {
        if (!HasJob)
        {
            return; // nothing was queued (-WhatIf, or every item declined)
        }
        try
        {
            _job?.CompleteAdding();
            while (!JobIsFinished)
            {
                if (Stopping)
                {
                    throw new PipelineStoppedException();
                }
                Drain(DrainInterval);
            }
            Drain(TimeSpan.Zero);
            _progress?.Complete(SafeProgress());
            AllFinished();
            WriteSummary();
        }
        catch
        {
            CancelAndRelease();
            throw;
        }
        finally
        {
            Release();
        }
    }

    public void Dispose()
    {
        lock (_disposeGate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        CancelAndRelease();
        // _cancellation is not disposed: StopProcessing may still run on another thread, and a source without timers
        // holds nothing that needs disposing.
    }

    /// <summary>Runs one ProcessRecord body: afterwards drains whatever is ready without blocking; any throw (a
    /// terminating error, -ErrorAction Stop) cancels the job first.</summary>
    private protected void Guarded(Action body)
    {
        try
        {
            body();
            Drain(TimeSpan.Zero);
        }
        catch
        {
            CancelAndRelease();
            throw;
        }
    }

    /// <summary>Takes events: waits up to <paramref name="wait"/> for the first, then takes whatever else is ready.</summary>
    private protected void Drain(TimeSpan wait)
    {
        if (!HasJob)
        {
            return;
        }
        var timeout = wait;
        while (_job is { } job && job.TryTake(out var engineEvent, timeout))
        {
            if (engineEvent is not null)
            {
                HandleEvent(engineEvent);
            }
            timeout = TimeSpan.Zero;
            RefreshProgress();
        }
        RefreshProgress();
    }

    private void RefreshProgress()
    {
        if (_progress is null || !_progress.IsDue)
        {
            return;
        }
        var progress = SafeProgress();
        if (progress is not null)
        {
            _progress.Write(progress);
        }
    }

    private IReadOnlyList<ProgressNode>? SafeProgress()
    {
        try
        {
            return _job is { } job ? ToProgress(job.GetProgress()) : null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    // ---- Context, clients, release -------------------------------------------------------------------------

    /// <summary>The invocation's AWS context, resolved once, its region in the AWS Tools order: the cmdlet's region
    /// parameter from the command line (<paramref name="regionParameter"/>, named <paramref name="parameterLabel"/>),
    /// then the defaults ($StoredAWSRegion, profiles, AWS_REGION, …). Only when no default is set either does
    /// <paramref name="fallback"/> serve (a region known otherwise: -SourceRegion, the first piped object's), so a
    /// pipeline of objects that carry their regions needs no default region; <see cref="ContextRegionIsFallback"/> tells.</summary>
    private protected AwsContext EnsureContext(string? regionParameter, string parameterLabel, (string Region, string Source)? fallback)
    {
        if (_context is null)
        {
            // ResolveAwsContext writes where credentials and region came from (never a secret) and warns about an
            // unknown region.
            if (!string.IsNullOrWhiteSpace(regionParameter))
            {
                _context = ResolveAwsContext(regionParameter!.Trim(), parameterLabel);
                ContextRegionSource = parameterLabel;
            }
            else if (fallback is not { } known)
            {
                _context = ResolveAwsContext(null);
                ContextRegionSource = _context.RegionSource;
            }
            else if (TryResolveDefaultRegion(out var region, out var source))
            {
                _context = ResolveAwsContext(region, source);
                ContextRegionSource = source;
            }
            else
            {
                _context = ResolveAwsContext(known.Region, known.Source);
                ContextRegionSource = known.Source;
                ContextRegionIsFallback = true;
            }
            _checkedRegions.Add(_context.Region);
        }
        return _context;
    }

    /// <summary>Where the context's region came from ("-Region", "$StoredAWSRegion", "the piped object", …).</summary>
    private protected string ContextRegionSource { get; private set; } = "";

    /// <summary>No region parameter and no default region was set: the context's region is the fallback region (see
    /// <see cref="EnsureContext"/>), not a region the user chose for the call.</summary>
    private protected bool ContextRegionIsFallback { get; private set; }

    /// <summary>Writes "<paramref name="what"/> <paramref name="region"/> from <paramref name="source"/>." once per
    /// invocation (verbose): where each region a command uses came from.</summary>
    private protected void WriteProvenance(string what, string region, string source)
    {
        var line = $"{what} {region} from {source}.";
        if (_provenance.Add(line))
        {
            WriteVerbose(line);
        }
    }

    /// <summary>The context's region as a source label for <see cref="WriteProvenance"/>.</summary>
    /// <remarks>With no region parameter and no default region, the context took its region from the first piped
    /// object that named one: for a later object without a region of its own, that is an earlier piped object.</remarks>
    private protected string ContextLabel =>
        !ContextRegionIsFallback ? $"{ContextRegionSource} (the AWS context's region)"
        : ContextRegionSource == PipedObject ? "an earlier piped object (no region parameter or default region is set, and this object names no region)"
        : ContextRegionSource;

    /// <summary>Stops with SwitchWithValue when a switch was written with a separate Boolean ("-Encrypted $true"): see
    /// <see cref="AwsToolsHabits"/>.</summary>
    private protected void CheckSwitchValues()
    {
        if (AwsToolsHabits.FindSwitchWithValue(MyInvocation, MyInvocation.MyCommand, SessionState) is { } found)
        {
            ThrowTerminatingError(AwsToolsHabits.SwitchWithValue(MyInvocation.MyCommand.Name, found));
        }
    }

    /// <summary>The client source for the job (owned here, disposed after the job) and a progress writer with
    /// <paramref name="progressSlots"/> children per parent (0: no progress records).</summary>
    private protected IEc2ClientSourceLifetime OpenClients(AwsContext context, int progressSlots)
    {
        if (_clients is null)
        {
            var clients = CreateClientSource(context);
            _clients = clients;
            // The engine shares copy windows, polling and pacing per account: learn it here, once, on the pipeline thread.
            var (account, problem) = clients.ResolveAccount(context.Region, Cancellation);
            WriteVerbose(problem is null
                ? $"Account: {account.Replace("account:", "")} (STS GetCallerIdentity); copy windows, polling and request pacing are shared with other invocations in this account."
                : $"The account could not be learned ({problem}); copy windows, polling and request pacing are shared only with invocations using the same access key.");
        }
        if (progressSlots > 0)
        {
            _progress ??= new ProgressTreeWriter(WriteProgress, progressSlots, ProgressInterval);
        }
        StartedUtc = DateTime.UtcNow;
        return _clients;
    }

    /// <summary>A second account's clients (a vault copy's destination), resolved from <paramref name="profileName"/> or
    /// <paramref name="credential"/> only (never the caller's stored credentials or the SDK chain), in
    /// <paramref name="source"/>'s region and endpoint; owned here and disposed with the invocation's own.</summary>
    private protected IEc2ClientSourceLifetime OpenDestinationClients(AwsContext source, string? profileName, object? credential)
    {
        if (_destinationClients is not null)
        {
            return _destinationClients;
        }
        var inputs = CreateContextInputs(source.Region);
        inputs.AccessKey = inputs.SecretKey = inputs.SessionToken = null;
        inputs.ProfileName = profileName;
        inputs.Credential = credential;
        inputs.ParameterPrefix = "Destination";
        inputs.GetVariable = _ => null;
        AwsContext context;
        try
        {
            context = SnapshotEngine.ResolveContext(inputs);
        }
        catch (AwsContextException e)
        {
            ThrowTerminatingError(ErrorRecordFactory.FromContextError(e));
            throw; // not reached
        }
        var clients = CreateClientSource(context);
        _destinationClients = clients;
        var (account, problem) = clients.ResolveAccount(context.Region, Cancellation);
        WriteVerbose(problem is null
            ? $"Destination account: {account.Replace("account:", "")} (credentials from {context.CredentialSource}); the copies are made there, in its copy windows."
            : $"The destination account could not be learned ({problem}).");
        return clients;
    }

    private protected void CancelAndRelease()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        Release(stopped: true);
    }

    private void Release(bool stopped = false)
    {
        var clients = Interlocked.Exchange(ref _clients, null);
        var destination = Interlocked.Exchange(ref _destinationClients, null);
        var job = Interlocked.Exchange(ref _job, null);
        try
        {
            // Stops waiting and starting work; what EC2 accepted keeps running.
            job?.Dispose();
            if (job is not null && stopped)
            {
                // A call EC2 may already have run gets its grace before the clients go, so what it made is not lost.
                job.WaitForStoppedWork();
                ReportLeftRunning(job);
            }
        }
        finally
        {
            clients?.Dispose();
            destination?.Dispose();
        }
    }

    /// <summary>After a stop: says which snapshots EC2 accepted that keep running (the output of this call ended before
    /// they finished), including those accepted just before the stop whose events were not written yet.</summary>
    private void ReportLeftRunning(SnapshotJob<TRequest, TResult> job)
    {
        while (job.TryTake(out var jobEvent, TimeSpan.Zero))
        {
            if (jobEvent is not null)
            {
                Track(jobEvent);
            }
        }
        if (_running.Count == 0 || LeftRunningHint is not { } hint)
        {
            return;
        }
        var listed = ListText.Of(_running.Values.Select(RunningLabel).ToList(), 20);
        var text = $"Stopped: {_running.Count} {SummaryNoun.Plural} that EC2 had accepted keep running: {listed}. {hint}";
        try
        {
            WriteWarning(text);
        }
        catch (PipelineStoppedException)
        {
            // Ctrl+C: the pipeline takes no more records, the host still shows text.
            Host?.UI?.WriteWarningLine(text);
        }
    }

    /// <summary>Keeps <see cref="_running"/>: accepted and not yet finished, or finished while still running (stopped).</summary>
    private void Track(JobEvent<TRequest> jobEvent)
    {
        switch (jobEvent)
        {
            case ItemAcceptedEvent<TRequest, TResult> accepted when SnapshotIdOf(accepted.Result) is { } id:
                _running[id] = accepted.Result;
                break;
            case ItemFinishedEvent<TRequest, TResult> finished when SnapshotIdOf(finished.Result) is { } id:
                if (StateOf(finished.Result) == SnapshotState.Pending && finished.Error is not null) _running[id] = finished.Result;
                else _running.Remove(id);
                break;
        }
    }

    /// <summary>What to do about snapshots left running after a stop (null: nothing to report, e.g. waits).</summary>
    private protected virtual string? LeftRunningHint => null;

    /// <summary>One snapshot left running, for the stop warning.</summary>
    private protected virtual string RunningLabel(TResult result) => SnapshotIdOf(result) ?? "";

    private static string? SnapshotIdOf(TResult result) => result switch
    {
        SnapshotCopyResult copy => copy.SnapshotId,
        SnapshotResult snapshot => snapshot.SnapshotId,
        _ => null,
    };

    private static SnapshotState StateOf(TResult result) => result switch
    {
        SnapshotCopyResult copy => copy.State,
        SnapshotResult snapshot => snapshot.State,
        _ => SnapshotState.Queued,
    };

    // ---- Helpers ------------------------------------------------------------------------------------------------

    /// <summary>The verbose line with the job's EC2 calls and how often EC2 pushed back.</summary>
    private protected void WriteStatistics(Func<JobStatistics?> read)
    {
        try
        {
            if (read() is not { } statistics)
            {
                return;
            }
            var calls = string.Join(", ", statistics.Calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
            WriteVerbose(string.Format(CultureInfo.InvariantCulture,
                "EC2 calls: {0}; throttled {1}, retries {2}, limit hits {3}, uncertain outcomes {4}, duplicates removed {5}.",
                calls.Length == 0 ? "none" : calls, statistics.Throttled, statistics.Retries, statistics.LimitExceeded,
                statistics.UncertainOutcomes, statistics.DuplicatesRemoved));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Final states in a fixed order, with readable names (Pending = started, under -NoWait).</summary>
    private static readonly (SnapshotState State, string Label)[] StateLabels =
    {
        (SnapshotState.Completed, "completed"), (SnapshotState.Pending, "started"), (SnapshotState.DryRun, "dry run"),
        (SnapshotState.Failed, "failed"), (SnapshotState.TimedOut, "timed out"), (SnapshotState.Queued, "not started"),
    };

    private static string StateLabel(SnapshotState state) => StateLabels.First(s => s.State == state).Label;

    /// <summary>Counts of final states (and reused copies) in a fixed order.</summary>
    private static IEnumerable<KeyValuePair<string, int>> StateCounts(IReadOnlyDictionary<string, int> counts) =>
        new[] { "completed", "reused" }.Concat(StateLabels.Skip(1).Select(s => s.Label))
            .Select(label => new KeyValuePair<string, int>(label, counts.TryGetValue(label, out var n) ? n : 0));

    /// <summary>"N copies in [d ]hh:mm:ss: 3 completed, 1 failed." from the counts of final states.</summary>
    private protected void WriteCountSummary(string command, int total, string singular, string plural, IEnumerable<KeyValuePair<string, int>> counts)
    {
        var parts = counts.Where(c => c.Value > 0).Select(c => $"{c.Value} {c.Key}").ToList();
        WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: {1} {2} in {3}: {4}.",
            command, total, total == 1 ? singular : plural, DurationText.Of(DateTime.UtcNow - StartedUtc), parts.Count == 0 ? "none finished" : string.Join(", ", parts)));
    }

    /// <summary>True under -WhatIf (bound, or $WhatIfPreference): then nothing is resolved and no AWS call is made.</summary>
    private protected bool IsWhatIf()
    {
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound))
        {
            return LanguagePrimitives.IsTrue(bound);
        }
        return LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));
    }

    /// <summary>An engine message on its stream.</summary>
    private protected void WriteEngineMessage(MessageLevel level, string message)
    {
        switch (level)
        {
            case MessageLevel.Warning:
                WriteWarning(message);
                break;
            case MessageLevel.Debug:
                WriteDebug(message);
                break;
            default:
                WriteVerbose(message);
                break;
        }
    }

    /// <summary>Warns once per region name that is well-formed but unknown to the SDK (the context warns for its own).</summary>
    private protected void WarnOnce(string region, string source)
    {
        if (_checkedRegions.Add(region))
        {
            WarnIfUnknownRegion(region, source);
        }
    }

    /// <summary>Checks a region read from an input object (no parameter validation ran on it): writes an InvalidRegion
    /// error and returns false when it is malformed; warns once when it is unknown.</summary>
    private protected bool CheckInputRegion(string region, string parameterName)
    {
        if (!RegionNames.IsWellFormed(region))
        {
            WriteError(ErrorRecordFactory.InvalidParameter("InvalidRegion", parameterName, region, RegionNames.MalformedMessage(region)));
            return false;
        }
        WarnOnce(region, "the input object");
        return true;
    }

    /// <summary>A terminating InvalidArgument error for a parameter value that can never work (before any call).</summary>
    private protected void Fail(string errorId, string parameterName, object? value, string message, string? recommendedAction = null) =>
        ThrowTerminatingError(ErrorRecordFactory.InvalidParameter(errorId, parameterName, value, message, recommendedAction));
}

/// <summary>What Copy-AvSnapshot and New-AvSnapshot share: they make snapshots, so they can be dry-run and need not wait;
/// they take -TagSpecification and -Force as Copy-EC2Snapshot and New-EC2Snapshot do, and say what to type instead of
/// the AWS.Tools parameters they do not have (-Select, -PassThru, -ClientConfig); each pipeline object reaches their
/// <see cref="PipelineInputAttribute"/> property through the hidden -InputObject.</summary>
public abstract class StartCmdlet<TRequest, TResult> : EngineCmdlet<TRequest, TResult>, IDynamicParameters where TRequest : class where TResult : class
{
    private PipelineInputParameters? _pipelineInput;

    /// <summary>-InputObject, only when the command has pipeline input: Get-Command -Syntax (no input) leaves it out.</summary>
    public object? GetDynamicParameters() =>
        MyInvocation.ExpectingInput ? _pipelineInput ??= PipelineInputParameters.For(this) : null;

    /// <summary>Ask EC2 to check each call (DryRun=true) and make nothing.</summary>
    [Parameter]
    public SwitchParameter DryRun { get; set; }

    /// <summary>Output each snapshot or copy as soon as EC2 accepted it (State Pending, new id known) instead of waiting
    /// for it to complete. EC2's limits still apply, so the command runs until the last one is started. Pipe the
    /// results to Wait-AvSnapshot to wait later.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Tags as AWS.Tools passes them: Amazon.EC2.Model.TagSpecification objects, or hashtables and
    /// [pscustomobject]s of that shape (ResourceType 'snapshot', Tags of Key/Value), read by shape. Beside -Tag.</summary>
    [Parameter]
    [Alias("TagSpecifications")]
    [ValidateNotNull]
    public object[]? TagSpecification { get; set; }

    /// <summary>AWS.Tools' output selector: not supported (hidden; an error says what to type instead).</summary>
    [Parameter(DontShow = true)]
    public string? Select { get; set; }

    /// <summary>AWS.Tools' deprecated -PassThru: not supported (hidden; an error says what to type instead).</summary>
    [Parameter(DontShow = true)]
    public SwitchParameter PassThru { get; set; }

    /// <summary>AWS.Tools' AmazonEC2Config: not supported (hidden; an error says what to type instead).</summary>
    [Parameter(DontShow = true)]
    public object? ClientConfig { get; set; }

    /// <summary>Catches a value no positional parameter takes (hidden), so "-Encrypted $true" after -SnapshotId,
    /// -SourceRegion and -Description were named gives SwitchWithValue, not PowerShell's PositionalParameterNotFound.</summary>
    [Parameter(Position = 99, DontShow = true)]
    public object? UnexpectedArgument { get; set; }

    /// <summary>The AWS.Tools habits checked before anything else: a switch written with a value, an extra positional
    /// value, and -Select, -PassThru and -ClientConfig.</summary>
    private protected void CheckAwsToolsHabits(string outputExample)
    {
        CheckSwitchValues();
        var bound = MyInvocation.BoundParameters;
        var command = MyInvocation.MyCommand.Name;
        if (bound.ContainsKey(nameof(UnexpectedArgument)))
        {
            var value = UnexpectedArgument is PSObject pso ? pso.BaseObject : UnexpectedArgument;
            var message = $"A positional parameter cannot be found that accepts argument '{value}'.";
            ThrowTerminatingError(ErrorRecordFactory.InvalidParameter("PositionalParameterNotFound", nameof(UnexpectedArgument), value,
                value is bool ? $"{message} {AwsToolsHabits.BooleanHint(value)}" : message,
                value is bool ? $"Type the switch alone (-{AwsToolsHabits.BooleanSwitchOf(command)}), or with a colon (-{AwsToolsHabits.BooleanSwitchOf(command)}:$true)."
                    : $"Name the parameter the value is for (Get-Help {command} -Parameter *)."));
        }
        if (bound.ContainsKey(nameof(Select)))
        {
            ThrowTerminatingError(AwsToolsHabits.NotSupported(nameof(Select), Select, command,
                $"{command} writes one result object per snapshot, with SnapshotId, Region, State and more.",
                $"For the ids only type ({outputExample}).SnapshotId or pipe to Select-Object -ExpandProperty SnapshotId; for everything leave -Select out."));
        }
        if (bound.ContainsKey(nameof(PassThru)))
        {
            ThrowTerminatingError(AwsToolsHabits.NotSupported(nameof(PassThru), true, command,
                "each result already carries what was given (SourceSnapshotId, VolumeId or InstanceId) beside the new SnapshotId.",
                "Leave -PassThru out and read the input id from the results."));
        }
        if (bound.ContainsKey(nameof(ClientConfig)))
        {
            ThrowTerminatingError(AwsToolsHabits.NotSupported(nameof(ClientConfig), ClientConfig, command,
                "the module makes its own EC2 clients (retries, timeouts and pacing are its own).",
                "For another endpoint type -EndpointUrl <url>; for the region -Region <region>; leave -ClientConfig out."));
        }
    }

    /// <summary>AWS.Tools' ConfirmShouldProceed: -WhatIf always wins; otherwise -Force goes ahead without asking, and
    /// without it ShouldProcess asks as $ConfirmPreference and -Confirm say.</summary>
    private protected bool ConfirmShouldProceed(bool force, string target, string action) =>
        IsWhatIf() ? ShouldProcess(target, action) : force || ShouldProcess(target, action);
}
