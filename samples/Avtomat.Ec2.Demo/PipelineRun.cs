using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.InteropServices;

namespace Avtomat.Ec2.Demo;

/// <summary>What one scene's pipeline produced.</summary>
internal sealed record PipelineOutcome(IReadOnlyList<PSObject> Results, IReadOnlyList<ErrorRecord> Errors,
    Exception? Failure, TimeSpan Elapsed, int VerboseCount, int ProgressCount);

/// <summary>
/// Runs one PowerShell pipeline in the demo's runspace with live progress: results, verbose, warnings and errors from
/// the instance's streams, progress from the host (which knows which command wrote each record). Ctrl+C or SIGTERM
/// stops the pipeline (copies and snapshots EC2 already accepted keep running; their ids are in the verbose output);
/// a second one ends the demo at once. The signals are registered here rather than with Console.CancelKeyPress so that
/// SIGTERM is covered too: the emulator's web host would otherwise take SIGTERM for itself and leave the demo waiting.
/// </summary>
internal sealed class PipelineRun : IDisposable
{
    private readonly Runspace _runspace;
    private readonly DemoHost _host;
    private readonly bool _interactive;
    private readonly PosixSignalRegistration _onInterrupt;
    private readonly PosixSignalRegistration _onTerminate;
    private readonly object _gate = new();
    private PowerShell? _current;
    private LiveProgress? _view;
    private int _stopping;

    public PipelineRun(Runspace runspace, DemoHost host, bool interactive)
    {
        _runspace = runspace;
        _host = host;
        _interactive = interactive;
        _onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>True once Ctrl+C or SIGTERM was received: later scenes do not start.</summary>
    public bool Stopped => Volatile.Read(ref _stopping) == 1;

    public async Task<PipelineOutcome> RunAsync(string command, LiveProgress view)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(command);

        var results = new PSDataCollection<PSObject>();
        results.DataAdded += (_, e) => view.ResultWritten();
        ps.Streams.Verbose.DataAdded += (_, e) => view.Verbose(ps.Streams.Verbose[e.Index].Message);
        ps.Streams.Warning.DataAdded += (_, e) => view.Message("WARNING: " + ps.Streams.Warning[e.Index].Message);
        ps.Streams.Error.DataAdded += (_, e) => view.Message("ERROR: " + ps.Streams.Error[e.Index]);
        _host.ProgressSink = view.Progress;
        lock (_gate) { _current = ps; _view = view; }

        var clock = Stopwatch.StartNew();
        Exception? failure = null;
        view.Start();
        try
        {
            if (Stopped) throw new PipelineStoppedException();
            await Task.Factory.FromAsync(ps.BeginInvoke<PSObject, PSObject>(null, results), ps.EndInvoke);
        }
        catch (Exception e) when (e is RuntimeException or PipelineStoppedException or InvalidOperationException)
        {
            failure = e;
        }
        finally
        {
            clock.Stop();
            lock (_gate) { _current = null; _view = null; }
            _host.ProgressSink = null;
            view.Finish();
        }
        return new PipelineOutcome(results.ToList(), ps.Streams.Error.ToList(), failure, clock.Elapsed,
            view.VerboseCount, view.ProgressCount);
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Exchange(ref _stopping, 1) == 1)
        {
            if (_interactive) Console.Write("\u001b[?25h");
            Environment.Exit(130);
        }
        lock (_gate)
        {
            _view?.Message($"{context.Signal}: stopping the pipeline…");
            _current?.BeginStop(null, null);
        }
    }

    public void Dispose()
    {
        _onInterrupt.Dispose();
        _onTerminate.Dispose();
    }
}
