using System;
using System.Collections.Generic;
using System.Threading;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Errors;
using Avtomat.Ec2.Progress;

namespace Avtomat.Ec2.Commands;

/// <summary>What New-AvSnapshot and Wait-AvSnapshot share on top of <see cref="EngineCmdlet{TEvent}"/>: a
/// <see cref="SnapshotJob{TEvent}"/> whose events become output (one <see cref="SnapshotResult"/> per snapshot, as it finishes),
/// non-terminating errors, verbose lines for accepted snapshots and engine messages, and a summary.</summary>
public abstract class SnapshotJobCmdlet : EngineCmdlet<SnapshotEvent>
{
    /// <summary>Children per region in the progress display (more in flight still count in the parent's status).</summary>
    private protected const int ProgressSlots = 20;

    private readonly Dictionary<SnapshotState, int> _finished = new();
    private SnapshotJob<SnapshotEvent>? _job;

    /// <summary>Requests handed to the job (volumes, instances or snapshots), for the summary.</summary>
    private protected int Requests { get; set; }

    /// <summary>"New-AvSnapshot", for the summary.</summary>
    private protected abstract string CommandLabel { get; }

    /// <summary>The job's progress as records.</summary>
    private protected abstract IReadOnlyList<ProgressNode> ToProgress(IReadOnlyList<RegionProgress> progress);

    /// <summary>The verbose line for a snapshot EC2 accepted (null: none).</summary>
    private protected virtual string? AcceptedMessage(SnapshotResult result) => null;

    private protected T? CurrentJob<T>() where T : SnapshotJob<SnapshotEvent> => _job as T;

    private protected T SetJob<T>(T job) where T : SnapshotJob<SnapshotEvent>
    {
        _job = job;
        return job;
    }

    private protected override bool HasJob => _job is not null;

    private protected override bool TryTakeEvent(out SnapshotEvent? engineEvent, TimeSpan timeout)
    {
        engineEvent = null;
        return _job is { } job && job.TryTake(out engineEvent, timeout);
    }

    private protected override bool JobIsFinished => _job?.IsFinished ?? true;

    private protected override void CompleteJobAdding() => _job?.CompleteAdding();

    private protected override IReadOnlyList<ProgressNode>? ReadProgress() => _job is { } job ? ToProgress(job.GetProgress()) : null;

    private protected override void DisposeJob() => Interlocked.Exchange(ref _job, null)?.Dispose();

    private protected override void HandleEvent(SnapshotEvent engineEvent)
    {
        switch (engineEvent)
        {
            case SnapshotAcceptedEvent accepted:
                if (AcceptedMessage(accepted.Result) is { } line)
                {
                    WriteVerbose(line);
                }
                break;
            case SnapshotFinishedEvent finished:
                var state = finished.Result.State;
                _finished[state] = _finished.TryGetValue(state, out var n) ? n + 1 : 1;
                WriteObject(finished.Result);
                if (finished.Error is not null)
                {
                    WriteError(ErrorRecordFactory.FromEngineError(finished.Error, finished.Result));
                }
                break;
            case SnapshotMessageEvent message:
                WriteEngineMessage(message.Level, message.Message);
                break;
        }
    }

    private protected override void WriteSummary()
    {
        if (Requests == 0)
        {
            return;
        }
        WriteCountSummary(CommandLabel, Requests, SummaryNoun.Singular, SummaryNoun.Plural, StateCounts(_finished));
        var job = _job;
        WriteStatistics(() => job?.Statistics);
    }

    /// <summary>What <see cref="Requests"/> counts, for the summary ("volume", "volumes").</summary>
    private protected abstract (string Singular, string Plural) SummaryNoun { get; }
}
