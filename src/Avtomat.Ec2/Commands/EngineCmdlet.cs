using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Errors;
using Avtomat.Ec2.Progress;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// The pipeline plumbing every engine-backed cmdlet shares: the AWS context and client source of the invocation, a job
/// whose events are drained on the pipeline thread only (without blocking in ProcessRecord, in a timed loop in
/// EndProcessing), progress records refreshed at most every 300 ms, Ctrl+C that only cancels (StopProcessing), and a
/// try/finally around every drain so an <c>-ErrorAction Stop</c> throw also cancels the job's workers.
/// </summary>
/// <typeparam name="TEvent">The job's event type (what the engine reports).</typeparam>
public abstract class EngineCmdlet<TEvent> : AwsCmdlet, IDisposable where TEvent : class
{
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(300);

    private readonly CancellationTokenSource _cancellation = new();
    private readonly HashSet<string> _checkedRegions = new(StringComparer.Ordinal);
    private readonly object _disposeGate = new();
    private AwsContext? _context;
    private IEc2ClientSourceLifetime? _clients;
    private ProgressTreeWriter? _progress;
    private bool _disposed;

    /// <summary>Cancelled by Ctrl+C (StopProcessing), by Dispose and by an error that ends the pipeline.</summary>
    private protected CancellationToken Cancellation => _cancellation.Token;

    /// <summary>When the job was started (for the summary).</summary>
    private protected DateTime StartedUtc { get; private set; }

    // ---- What a derived cmdlet supplies ----------------------------------------------------------------------

    /// <summary>True once the job exists.</summary>
    private protected abstract bool HasJob { get; }

    /// <summary>Takes the next event, waiting up to <paramref name="timeout"/>.</summary>
    private protected abstract bool TryTakeEvent(out TEvent? engineEvent, TimeSpan timeout);

    /// <summary>Adding is complete, every request reached its final state and every event was taken.</summary>
    private protected abstract bool JobIsFinished { get; }

    /// <summary>No more requests will be added.</summary>
    private protected abstract void CompleteJobAdding();

    /// <summary>Turns one event into Write* calls (pipeline thread).</summary>
    private protected abstract void HandleEvent(TEvent engineEvent);

    /// <summary>The job's current progress as parent and child records (null when there is none to show).</summary>
    private protected abstract IReadOnlyList<ProgressNode>? ReadProgress();

    /// <summary>Disposes the job (stops waiting and starting work; what EC2 accepted keeps running) and forgets it.</summary>
    private protected abstract void DisposeJob();

    /// <summary>Written once at the end (verbose): counts, time, EC2 calls.</summary>
    private protected virtual void WriteSummary()
    {
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
            CompleteJobAdding();
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
        while (TryTakeEvent(out var engineEvent, timeout))
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
            return HasJob ? ReadProgress() : null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    // ---- Context, clients, release -------------------------------------------------------------------------

    /// <summary>The invocation's AWS context, resolved once (the first call's region is the context's region when no
    /// region parameter was given).</summary>
    private protected AwsContext EnsureContext(string? region)
    {
        if (_context is null)
        {
            // Writes where credentials and region came from (never a secret) and warns about an unknown region.
            _context = ResolveAwsContext(region);
            _checkedRegions.Add(_context.Region);
        }
        return _context;
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

    private protected void CancelAndRelease()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        Release();
    }

    private void Release()
    {
        var clients = Interlocked.Exchange(ref _clients, null);
        try
        {
            DisposeJob();
        }
        finally
        {
            clients?.Dispose();
        }
    }

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

    /// <summary>Final-state counts in a fixed order with readable names (Pending = started, under -NoWait).</summary>
    private protected static IEnumerable<KeyValuePair<string, int>> StateCounts(IReadOnlyDictionary<SnapshotState, int> counts)
    {
        int Get(SnapshotState state) => counts.TryGetValue(state, out var n) ? n : 0;
        yield return new("completed", Get(SnapshotState.Completed));
        yield return new("started", Get(SnapshotState.Pending));
        yield return new("dry run", Get(SnapshotState.DryRun));
        yield return new("failed", Get(SnapshotState.Failed));
        yield return new("timed out", Get(SnapshotState.TimedOut));
        yield return new("not started", Get(SnapshotState.Queued));
    }

    /// <summary>"N copies in hh:mm:ss: 3 completed, 1 failed." from the counts of final states.</summary>
    private protected void WriteCountSummary(string command, int total, string singular, string plural, IEnumerable<KeyValuePair<string, int>> counts)
    {
        var parts = counts.Where(c => c.Value > 0).Select(c => $"{c.Value} {c.Key}").ToList();
        WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: {1} {2} in {3:hh\\:mm\\:ss}: {4}.",
            command, total, total == 1 ? singular : plural, DateTime.UtcNow - StartedUtc, parts.Count == 0 ? "none finished" : string.Join(", ", parts)));
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
