using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// After calls that create snapshots got no definite answer: what each one made, found by its request token. The
/// tokens of a region are looked up together — one DescribeSnapshots per tick with the <c>avtomat:request-token</c> tag
/// filter and up to 200 values — and each lookup decides at the first answer EC2 gives (found, or not there), so the
/// caller holds its slot only that long. A lookup that fails is tried again each tick within the visibility grace.
/// </summary>
internal sealed class TokenLookups
{
    /// <summary>How long the first token waits for others to join its batch.</summary>
    private static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(100);

    private readonly IStartingJob _job;
    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<string, Pending>> _regions = new(StringComparer.Ordinal);

    public TokenLookups(IStartingJob job) => _job = job;

    /// <summary>The snapshots tagged with <paramref name="token"/> in <paramref name="region"/> (empty: none was made, as
    /// far as EC2 says now).</summary>
    public Task<List<Snapshot>> FindAsync(string region, string token, CancellationToken stop)
    {
        var pending = new Pending(_job.Time.GetUtcNow() + _job.VisibilityGrace);
        bool start;
        lock (_gate)
        {
            if (!_regions.TryGetValue(region, out var tokens)) _regions[region] = tokens = new Dictionary<string, Pending>(StringComparer.Ordinal);
            if (tokens.TryGetValue(token, out var known)) return known.Completion.Task;
            tokens[token] = pending;
            start = tokens.Count == 1;
        }
        if (start) _ = Task.Run(() => RunAsync(region));
        return stop.CanBeCanceled ? pending.Completion.Task.WaitOrCancel(stop) : pending.Completion.Task;
    }

    private async Task RunAsync(string region)
    {
        var delay = CollectDelay;
        while (true)
        {
            try { await _job.Time.Delay(delay).ConfigureAwait(false); }
            catch (Exception) { /* a clock that cannot delay is not ours to fix: look up now */ }
            List<KeyValuePair<string, Pending>> batch;
            lock (_gate)
            {
                var tokens = _regions[region];
                if (tokens.Count == 0) { _regions.Remove(region); return; }
                batch = tokens.Take(SnapshotStatePoller.MaxIdsPerCall).ToList();
            }
            var found = await _job.FindByTokenAsync(region, batch.Select(p => p.Key).ToList(), _job.SentCallToken).ConfigureAwait(false);
            var now = _job.Time.GetUtcNow();
            var byToken = (found ?? new List<Snapshot>())
                .GroupBy(s => s.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.RequestToken)?.Value ?? "", StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            lock (_gate)
            {
                var tokens = _regions[region];
                foreach (var entry in batch)
                {
                    // Decided at EC2's first answer; a failed lookup is tried again until the grace is over.
                    if (found is null && now < entry.Value.Deadline) continue;
                    tokens.Remove(entry.Key);
                    entry.Value.Completion.TrySetResult(byToken.TryGetValue(entry.Key, out var snapshots) ? snapshots : new List<Snapshot>());
                }
            }
            delay = _job.PollInterval;
        }
    }

    private sealed class Pending(DateTimeOffset deadline)
    {
        public DateTimeOffset Deadline { get; } = deadline;
        public TaskCompletionSource<List<Snapshot>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

internal static class TaskCancellation
{
    /// <summary>The task's result, or cancelled when <paramref name="stop"/> is (the task itself goes on).</summary>
    public static async Task<T> WaitOrCancel<T>(this Task<T> task, CancellationToken stop)
    {
        var cancelled = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (stop.Register(() => cancelled.TrySetCanceled(stop)))
            return await (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
