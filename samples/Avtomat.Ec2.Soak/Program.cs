// Soak harness for the copy engine: N snapshots copied to two regions through the module's own client source against the
// in-process EC2 emulator with faults (throttling, 5xx, dropped connections, copies in error, eventual consistency, slots
// held by outside copies); run 1 is stopped at 30 % and "the same command" runs again on a new engine; then EC2 is
// audited (duplicates, lost copies) and a table printed. Bounded (stops by itself), loopback only.
//
// Usage: dotnet run --project samples/Avtomat.Ec2.Soak -c Release -- [--count N] [--destinations a,b] [--seed S]
//        [--no-stop] [--no-baseline] [fault flags; --help]

using System.Globalization;

namespace Avtomat.Ec2.Soak;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        // No instance-metadata lookups from the SDK (explicit credentials and endpoints only).
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

        SoakOptions options;
        try { options = SoakOptions.Parse(args); }
        catch (ArgumentException e)
        {
            if (e.Message.Length > 0) Console.Error.WriteLine("soak: " + e.Message);
            Console.Error.WriteLine(SoakOptions.Usage);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var started = DateTime.Now;
        Action<string>? log = options.Quiet ? null : line => Console.Error.WriteLine($"[{DateTime.Now - started:mm\\:ss}] {line}");
        try
        {
            var report = await SoakRunner.RunAsync(options, log, cancel.Token);
            Console.WriteLine(report.Table);
            return report.ExitCode;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("soak: cancelled");
            return 1;
        }
    }
}
