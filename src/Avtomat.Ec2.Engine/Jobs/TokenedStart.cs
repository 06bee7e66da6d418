using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine;

/// <summary>One call that creates snapshots (CopySnapshot, CreateSnapshot, CreateSnapshots), as <see cref="TokenedStart"/>
/// needs to know it: what EC2's limits require before each attempt, the call itself, and what its answers mean for
/// this kind of work.</summary>
/// <typeparam name="TCreated">What a successful call returns (a copy id; the snapshots of a volume or set).</typeparam>
internal interface ISnapshotStart<TCreated>
{
    string Action { get; }
    string Region { get; }
    /// <summary>What is being copied or snapshotted, for messages.</summary>
    string SourceId { get; }
    /// <summary>The request token tagged onto what the call creates.</summary>
    string Token { get; }
    object Request { get; }

    /// <summary>Waits for what EC2's limits on pending work require before an attempt (a copy window slot; volume slots
    /// and spacing). What is already held from an earlier attempt is kept. <paramref name="requeued"/>: after a limit on
    /// pending work, wait ahead of newer requests. The request bucket is waited for after this, in
    /// <see cref="Ec2Calls.OnceAsync{T}"/>, as for every call.</summary>
    Task AdmitAsync(bool requeued, CancellationToken stop);

    /// <summary>After every attempt, whatever its outcome (e.g. per-volume start locks). Idempotent.</summary>
    void EndAttempt();

    /// <summary>The call made nothing for good: give back what <see cref="AdmitAsync"/> took. Idempotent; the worker
    /// also releases what is left when it ends.</summary>
    void Release();

    Task<TCreated> CallAsync(CancellationToken cancellationToken);

    /// <summary>A limit on pending work was hit (<paramref name="code"/>): give back what waits for capacity, and wait.</summary>
    Task WaitForCapacityAsync(string? code, int hits, CancellationToken stop);

    /// <summary>What the call would have returned, from the snapshots found by the token (one kept per volume).</summary>
    TCreated Adopted(IReadOnlyList<Snapshot> kept);

    IEnumerable<string> SnapshotIds(TCreated created);

    EngineError Rejected(Exception exception);
    EngineError OutcomeUnknown(Exception exception);
}

internal sealed class StartOutcome<TCreated>
{
    public TCreated? Created { get; private set; }
    /// <summary>Found by its token after a lost response, not from the call's own answer.</summary>
    public bool Adopted { get; private set; }
    public EngineError? Error { get; private set; }

    public static StartOutcome<TCreated> Started(TCreated created, bool adopted) => new() { Created = created, Adopted = adopted };
    public static StartOutcome<TCreated> Failed(EngineError error) => new() { Error = error };
}

/// <summary>
/// The one way the engine starts work that creates snapshots, without ever leaving a second one behind: wait for what
/// EC2's limits require (the start's own, then the request bucket in <see cref="Ec2Calls.OnceAsync{T}"/>, both ended by
/// the stop), call once (no SDK retries) with a request token tagged on, and ask the failure policy what an
/// error means — throttled: back off and call again; no definite answer: look the token up (within the visibility
/// grace), adopt what was made, else call again with the same token; a limit on pending work: wait for capacity and
/// queue again at the front; a failure of the account and region: end them (<see cref="RegionFailedException"/>);
/// anything else: the item's error. After an uncertain outcome followed by a success, duplicates made by the earlier
/// attempt are removed. A call already sent is allowed the job's grace after a stop so its id is not lost.
/// </summary>
internal sealed class TokenedStart
{
    private static readonly TimeSpan ThrottleBaseDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxThrottleDelay = TimeSpan.FromSeconds(30);

    private readonly IStartingJob _job;
    private readonly TokenLookups _lookups;

    public TokenedStart(IStartingJob job)
    {
        _job = job;
        _lookups = job.TokenLookups;
    }

    public async Task<StartOutcome<TCreated>> StartAsync<TCreated>(ISnapshotStart<TCreated> start, CancellationToken stop)
    {
        var retries = 0;
        var throttled = 0;
        var capacityHits = 0;
        var requeued = false;
        var uncertain = false;
        while (true)
        {
            stop.ThrowIfCancellationRequested(); // never start after a stop
            await start.AdmitAsync(requeued, stop).ConfigureAwait(false);
            requeued = false;
            var callToken = _job.SentCallToken;
            stop.ThrowIfCancellationRequested();
            var sent = false;
            try
            {
                // The request bucket is waited for under the stop (Ctrl+C ends the wait at once, and nothing is sent
                // after it); once sent, the call has the grace for calls already sent.
                var created = await _job.Calls.OnceAsync(start.Action, start.Region, async ct =>
                {
                    sent = true;
                    _job.CallSent();
                    try { return await start.CallAsync(ct).ConfigureAwait(false); }
                    finally { _job.CallReturned(); }
                }, callToken, waitToken: stop).ConfigureAwait(false);
                // An earlier attempt may have made one too, not visible yet when it was looked for: look again once
                // the visibility grace is over, in the background (the slot is not held for it).
                if (uncertain) _job.RunLater(_job.VisibilityGrace, () => RemoveDuplicatesAsync(start, created));
                return StartOutcome<TCreated>.Started(created, adopted: false);
            }
            catch (OperationCanceledException) when (!sent)
            {
                // Stopped while waiting for the request bucket: nothing was sent, as when stopped while admitted.
                start.Release();
                throw;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && callToken.IsCancellationRequested))
            {
                switch (FailurePolicy.Decide(ex, start.Action))
                {
                    case FailureAction.Retry:
                        // Throttled, or no connection made: nothing happened. Retried for as long as the job runs (the
                        // action's rate slows down; an endpoint that stays unreachable ends the region instead).
                        if (FailurePolicy.IsThrottle(ex)) _job.Counters.Throttled(); // the bucket was drained in Ec2Calls
                        var delay = Backoff.Delay(Math.Min(throttled++, 5), ThrottleBaseDelay, MaxThrottleDelay);
                        _job.Counters.Retry();
                        _job.Verbose($"{start.Action} of {start.SourceId} in {start.Region} did not reach EC2 ({FailurePolicy.Describe(ex)}); retrying in {delay.TotalSeconds:0.0} s.", start.Request);
                        start.EndAttempt();
                        await _job.Time.Delay(delay, stop).ConfigureAwait(false);
                        continue;
                    case FailureAction.LookUpToken:
                        _job.Counters.Uncertain();
                        uncertain = true;
                        _job.Verbose($"{start.Action} of {start.SourceId} in {start.Region} got no definite answer ({FailurePolicy.Describe(ex)}); " +
                                     $"looking for snapshots tagged {CopyTagNames.RequestToken}={start.Token} before trying again.", start.Request);
                        start.EndAttempt();
                        var kept = await KeepOnePerVolumeAsync(start.Region,
                            await _lookups.FindAsync(start.Region, start.Token, stop).ConfigureAwait(false)).ConfigureAwait(false);
                        if (kept.Count > 0) return StartOutcome<TCreated>.Started(start.Adopted(kept), adopted: true);
                        if (retries >= _job.MaxRetries)
                        {
                            start.Release();
                            return StartOutcome<TCreated>.Failed(start.OutcomeUnknown(ex));
                        }
                        retries++;
                        _job.Counters.Retry();
                        _job.Resending();
                        _job.Verbose($"Nothing was made for {start.SourceId} in {start.Region}; sending {start.Action} again with the same request token.", start.Request);
                        continue;
                    case FailureAction.WaitForCapacity:
                        _job.Counters.LimitExceeded();
                        start.EndAttempt();
                        await start.WaitForCapacityAsync(FailurePolicy.CodeOf(ex), capacityHits++, stop).ConfigureAwait(false);
                        requeued = true;
                        continue;
                    case FailureAction.FailAccountRegion:
                        start.Release();
                        throw new RegionFailedException(start.Region, FailurePolicy.RegionError(ex, start.SourceId, start.Region, start.Action));
                    default:
                        start.Release();
                        return StartOutcome<TCreated>.Failed(start.Rejected(ex));
                }
            }
            catch (OperationCanceledException)
            {
                // The call itself was cut off after a stop (its grace ran out): its outcome is unknown. Say how to find it.
                _job.Warn($"Stopped while {start.Action} of {start.SourceId} in {start.Region} was in flight; a snapshot may exist: " +
                          $"look for the tag {CopyTagNames.RequestToken}={start.Token}.", start.Request);
                start.Release();
                throw;
            }
            finally
            {
                start.EndAttempt();
            }
        }
    }

    /// <summary>A dry run: DryRunOperation means it would succeed. Throttling and uncertain outcomes are retried (nothing
    /// is made either way). Null when it would succeed; otherwise the error, or the id EC2 returned when it did not treat
    /// the call as a dry run (reported so it is not lost).</summary>
    public async Task<(EngineError? Error, TCreated? NotDryRun)> DryRunAsync<TCreated>(ISnapshotStart<TCreated> start, CancellationToken stop)
    {
        for (var retries = 0; ; retries++)
        {
            stop.ThrowIfCancellationRequested();
            await start.AdmitAsync(false, stop).ConfigureAwait(false);
            try
            {
                var created = await _job.Calls.OnceAsync(start.Action, start.Region, start.CallAsync, stop).ConfigureAwait(false);
                // EC2 always answers a dry run with DryRunOperation; a real answer means something was made.
                _job.Warn($"EC2 did not treat {start.Action} of {start.SourceId} as a dry run.", start.Request);
                return (null, created);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                var action = FailurePolicy.Decide(ex, start.Action);
                if (action == FailureAction.DryRunSucceeded)
                {
                    _job.Verbose($"Dry run: {start.Action} of {start.SourceId} in {start.Region} would succeed.", start.Request);
                    return (null, default);
                }
                // A dry run makes nothing, so any transient failure is simply tried again; throttling for as long as the job runs.
                if (action == FailureAction.Retry || (action == FailureAction.LookUpToken && retries < _job.MaxRetries))
                {
                    if (FailurePolicy.IsThrottle(ex)) _job.Counters.Throttled();
                    _job.Counters.Retry();
                    start.EndAttempt();
                    await _job.Time.Delay(Backoff.Delay(Math.Min(retries, 5), ThrottleBaseDelay, MaxThrottleDelay), stop).ConfigureAwait(false);
                    continue;
                }
                if (action == FailureAction.FailAccountRegion)
                    throw new RegionFailedException(start.Region, FailurePolicy.RegionError(ex, start.SourceId, start.Region, start.Action));
                return (start.Rejected(ex), default);
            }
            finally
            {
                start.EndAttempt();
                start.Release();
            }
        }
    }

    /// <summary>One snapshot kept per volume of those a token found (a copy's are all of vol-ffffffff); the others deleted.</summary>
    private async Task<List<Snapshot>> KeepOnePerVolumeAsync(string region, List<Snapshot> found)
    {
        var kept = new List<Snapshot>();
        foreach (var group in found.GroupBy(s => s.VolumeId ?? "", StringComparer.Ordinal))
            kept.Add(await _job.KeepOneAsync(region, null, group.ToList()).ConfigureAwait(false));
        return kept;
    }

    /// <summary>After an uncertain outcome followed by a successful call, the earlier attempt may have made one too.</summary>
    private async Task RemoveDuplicatesAsync<TCreated>(ISnapshotStart<TCreated> start, TCreated created)
    {
        try
        {
            var found = await _job.FindByTokenAsync(start.Region, new[] { start.Token }, _job.SentCallToken).ConfigureAwait(false);
            if (found is null) return;
            var reported = new HashSet<string>(start.SnapshotIds(created), StringComparer.Ordinal);
            foreach (var group in found.GroupBy(s => s.VolumeId ?? "", StringComparer.Ordinal).Where(g => g.Count() > 1))
                await _job.KeepOneAsync(start.Region, group.FirstOrDefault(s => reported.Contains(s.SnapshotId))?.SnapshotId, group.ToList()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _job.Verbose($"Could not check for duplicates of {start.SourceId}: {FailurePolicy.Describe(ex)}; the final sweep checks again.", start.Request);
        }
    }
}

/// <summary>What <see cref="TokenedStart"/> uses of its job (any <see cref="SnapshotJob{TRequest, TResult}"/>).</summary>
internal interface IStartingJob
{
    TimeProvider Time { get; }
    Ec2Calls Calls { get; }
    JobCounters Counters { get; }
    int MaxRetries { get; }
    TimeSpan PollInterval { get; }
    TimeSpan VisibilityGrace { get; }
    CancellationToken SentCallToken { get; }
    /// <summary>A call that may create something is on the wire (until <see cref="CallReturned"/>).</summary>
    void CallSent();
    void CallReturned();
    /// <summary>A call is sent again after a lookup found nothing (what the first one made may not be visible yet).</summary>
    void Resending();
    /// <summary>The job's batched lookups by request token.</summary>
    TokenLookups TokenLookups { get; }
    /// <summary>Runs <paramref name="work"/> after <paramref name="delay"/> while the job lasts (skipped once it ended).</summary>
    void RunLater(TimeSpan delay, Func<Task> work);
    void Verbose(string message, object? request = null);
    void Warn(string message, object? request = null);
    Task<List<Snapshot>?> FindByTokenAsync(string region, IReadOnlyList<string> tokens, CancellationToken cancellationToken);
    Task<Snapshot> KeepOneAsync(string region, string? reportedId, List<Snapshot> found);
}
