using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>
/// The module's engine as the cmdlets drive it: one <see cref="SnapshotEngine"/> on the virtual clock, a copy job with
/// Copy-AvSnapshot's options (-ThrottleLimit 20, resume on, poll interval and everything else the engine's defaults),
/// every request added at once and then CompleteAdding, as a pipeline of snapshot objects does. Create-then-copy is
/// <c>New-AvSnapshot | Copy-AvSnapshot</c>: a create job for every volume, and each snapshot its job reports completed
/// is added to the copy job (started on the first one, as the downstream cmdlet starts its job on its first record),
/// which is told CompleteAdding when the create job has finished. Events are drained at each virtual instant, as the
/// pipeline thread drains them; a copy counts as noticed when its finished event is drained. Once, at its peak (every
/// request handed over, the first copies running), it has the retained heap measured (<see cref="RunContext.MeasureRetained"/>).
/// </summary>
public sealed class EngineStrategy : IStrategy
{
    public string Name => "engine";

    public void Run(RunContext c)
    {
        var w = c.Workload;
        var engine = new SnapshotEngine(c.Clock);
        CopyJob? copyJob = null;
        CreateJob? createJob = null;
        var createdIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var copyAddingCompleted = false;
        // The peak, where the retained heap is measured: every request handed to the engine and the first copies running.
        // Copy scenarios: the first instant after CompleteAdding at which the copy job reported a copy EC2 accepted;
        // create-then-copy: the instant the copy job got every request (CompleteAdding). Measured at the next look at
        // that instant, when the engine is idle again.
        var peakDue = false;

        CopyJob EnsureCopyJob() => copyJob ??= engine.StartCopyJob(c.Clients, new CopyJobOptions { ThrottleLimit = 20 }, CancellationToken.None);

        void AddCopies(string sourceId)
        {
            foreach (var destination in w.Destinations)
                EnsureCopyJob().Add(new SnapshotCopyRequest
                {
                    SourceSnapshotId = sourceId, SourceRegion = Workload.SourceRegion, DestinationRegion = destination,
                });
        }

        try
        {
            // The strategy's own work on this (the driver's) thread is measured apart: the run's CPU figure leaves the
            // driver's thread out (RunContext.OnDriverThread).
            c.OnDriverThread(() =>
            {
                if (w.CreatesSnapshots)
                {
                    createJob = engine.StartCreateJob(c.Clients, new CreateJobOptions(), CancellationToken.None);
                    foreach (var volume in c.VolumeIds) createJob.Add(new SnapshotCreateRequest { VolumeId = volume, Region = Workload.SourceRegion });
                    createJob.CompleteAdding();
                }
                else
                {
                    foreach (var source in c.SourceIds) AddCopies(source);
                    EnsureCopyJob().CompleteAdding();
                    copyAddingCompleted = true;
                }
            });

            bool Drain() => c.OnDriverThread(DrainEvents);

            bool DrainEvents()
            {
                if (peakDue)
                {
                    peakDue = false;
                    c.MeasureRetained();
                }
                var any = false;
                if (createJob is not null)
                {
                    while (createJob.TryTake(out var e, TimeSpan.Zero))
                    {
                        any = true;
                        if (e is not ItemFinishedEvent<object, SnapshotResult> f) continue;
                        if (f.Result.State == SnapshotState.Completed && f.Result.SnapshotId is { } id)
                        {
                            createdIndex[id] = c.Ledger.VolumeIndexOf(f.Result.VolumeId ?? "");
                            AddCopies(id);
                        }
                        else c.Problem($"snapshot of {f.Result.VolumeId} ended {f.Result.State}: {f.Error?.Message ?? f.Result.StatusMessage}");
                    }
                    if (createJob.IsFinished && !copyAddingCompleted)
                    {
                        copyAddingCompleted = true;
                        EnsureCopyJob().CompleteAdding();
                        peakDue = c.Retained is null;
                        any = true;
                    }
                }
                if (copyJob is not null)
                {
                    while (copyJob.TryTake(out var e, TimeSpan.Zero))
                    {
                        any = true;
                        if (e is ItemAcceptedEvent<SnapshotCopyRequest, SnapshotCopyResult> && copyAddingCompleted && c.Retained is null)
                            peakDue = true;
                        if (e is not ItemFinishedEvent<SnapshotCopyRequest, SnapshotCopyResult> f) continue;
                        var source = f.Request!.SourceSnapshotId;
                        var index = w.CreatesSnapshots ? createdIndex.GetValueOrDefault(source, -1) : c.Ledger.SourceIndexOf(source);
                        if (f.Result.State == SnapshotState.Completed) c.Notice(index, c.Ledger.DestinationIndexOf(f.Result.Region));
                        else c.Problem($"copy of {source} to {f.Result.Region} ended {f.Result.State}: {f.Error?.Message ?? f.Result.StatusMessage}");
                    }
                }
                return any;
            }

            // The engine says itself when it is idle (nothing to apply, no call in flight): exact, and no need for the whole
            // thread pool to be still.
            var driver = new VirtualTimeDriver(c.Clock, () => engine.IsIdle) { StallLimit = c.Driver.StallLimit };
            driver.Run(Drain, () => copyAddingCompleted && (copyJob?.IsFinished ?? true) && (createJob?.IsFinished ?? true), c.MaxVirtual);
            c.Steps = driver.Steps;
        }
        finally
        {
            copyJob?.Dispose();
            createJob?.Dispose();
        }
    }
}
