using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Avtomat.Ec2.Engine.Planning;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// <para type="synopsis">Plans a Copy-AvSnapshot: which copies EC2 will make full and which incremental, and why, how
/// much data moves, how long it takes and what it costs. Read-only: DescribeSnapshots only.</para>
/// </summary>
/// <remarks>The same parameters and pipeline input as Copy-AvSnapshot (it is that command, planning instead of copying:
/// the engine's plan job checks each source, looks up the destination's copies of each volume's lineage and the copies
/// pending there, and applies EC2's rules). One <see cref="CopyPlan"/> is written at the end.</remarks>
[Cmdlet(VerbsDiagnostic.Measure, "AvSnapshotCopy", DefaultParameterSetName = ToRegionSet, HelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage")]
[OutputType(typeof(CopyPlan))]
public sealed class MeasureAvSnapshotCopyCommand : CopySnapshotsCmdlet
{
    private readonly List<SnapshotCopyResult> _results = new();
    private PriceTable _prices = new();

    /// <summary>Prices to use instead of the built-in dated table: a hashtable, or the path of a JSON file, with any of
    /// Date, Source, CrossRegionTransferPerGiB, TransferPerGiB (@{ 'us-east-1>eu-west-1' = 0.02 }), StoragePerGiBMonth,
    /// TimeBasedPerGiB (@{ 15 = 0.02; 60 = 0.016 }).</summary>
    [Parameter]
    [ValidateNotNull]
    public object? PriceTable { get; set; }

    private protected override bool Measuring => true;

    private protected override string CommandLabel => "Measure-AvSnapshotCopy";

    protected override void BeginProcessing()
    {
        foreach (var name in new[] { nameof(DryRun), nameof(NoWait) })
        {
            if (MyInvocation.BoundParameters.ContainsKey(name))
            {
                ThrowTerminatingError(Errors.ErrorRecordFactory.InvalidParameter("PlanIsReadOnly", name, true,
                    $"Measure-AvSnapshotCopy makes no copies, so -{name} has no meaning.", $"Leave -{name} out."));
            }
        }
        try
        {
            _prices = PriceTables.From(PriceTable is PSObject pso ? pso.BaseObject : PriceTable, SessionState.Path.CurrentFileSystemLocation.Path);
        }
        catch (Exception e) when (e is ArgumentException or IOException or FormatException or InvalidCastException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(Errors.ErrorRecordFactory.InvalidParameter("PriceTableInvalid", nameof(PriceTable), PriceTable, e.Message,
                "Pass a hashtable or a JSON file with the keys Date, Source, CrossRegionTransferPerGiB, TransferPerGiB, StoragePerGiBMonth, TimeBasedPerGiB."));
        }
        base.BeginProcessing();
    }

    private protected override void WriteResult(SnapshotCopyResult result) => _results.Add(result);

    private protected override void AllFinished() =>
        WriteObject(CopyPlan.From(_results, _prices, CompletionDurationMinutes, ThrottleLimit, throughputQuota: CopyThroughputQuota));
}

/// <summary>A price table from what the user gave: a hashtable or a JSON file.</summary>
internal static class PriceTables
{
    public static PriceTable From(object? given, string currentDirectory)
    {
        var table = new PriceTable();
        if (given is null) return table;
        IDictionary values = given switch
        {
            IDictionary d => d,
            string path => Json(Path.Combine(currentDirectory, path)),
            _ => throw new ArgumentException($"-PriceTable takes a hashtable or a JSON file's path, not a {given.GetType().Name}."),
        };
        foreach (DictionaryEntry entry in values)
        {
            var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture);
            var value = entry.Value is PSObject p ? p.BaseObject : entry.Value;
            switch (key?.ToLowerInvariant())
            {
                case "date": table.Date = Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""; break;
                case "source": table.Source = Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""; break;
                case "crossregiontransferpergib": table.CrossRegionTransferPerGiB = Price(value); break;
                case "storagepergibmonth": table.StoragePerGiBMonth = Price(value); break;
                case "transferpergib":
                    foreach (DictionaryEntry pair in Map(value)) table.TransferPerGiB[Convert.ToString(pair.Key, CultureInfo.InvariantCulture)!] = Price(pair.Value);
                    break;
                case "timebasedpergib":
                    table.TimeBasedPerGiB.Clear();
                    foreach (DictionaryEntry pair in Map(value)) table.TimeBasedPerGiB[Convert.ToInt32(pair.Key, CultureInfo.InvariantCulture)] = Price(pair.Value);
                    break;
                default:
                    throw new ArgumentException($"The price table has no entry '{key}'.");
            }
        }
        return table;
    }

    private static decimal Price(object? value)
    {
        var price = Convert.ToDecimal(value is PSObject p ? p.BaseObject : value, CultureInfo.InvariantCulture);
        if (price < 0) throw new ArgumentException($"A price cannot be negative ({price}).");
        return price;
    }

    private static IDictionary Map(object? value) => (value is PSObject p ? p.BaseObject : value) switch
    {
        IDictionary d => d,
        _ => throw new ArgumentException("TransferPerGiB and TimeBasedPerGiB take a table of prices."),
    };

    private static IDictionary Json(string path)
    {
        var text = File.ReadAllText(path);
        using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        var parsed = ps.AddCommand("ConvertFrom-Json").AddParameter("InputObject", text).Invoke().FirstOrDefault()
                     ?? throw new FormatException($"{path} holds no JSON object.");
        return ToDictionary(parsed);
    }

    private static Hashtable ToDictionary(PSObject o)
    {
        var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var property in o.Properties)
            table[property.Name] = property.Value is PSObject inner && inner.BaseObject is PSCustomObject ? ToDictionary(inner) : property.Value;
        return table;
    }
}
