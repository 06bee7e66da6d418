using System.Globalization;
using System.Text.Json.Serialization;

namespace Avtomat.Ec2.Emulator;

/// <summary>Where a call stands when the <see cref="EmulatorOptions.Interceptor"/> sees it, or (in the call log) how far
/// it got.</summary>
public enum CallStage
{
    /// <summary>Not run: the interceptor is asked before injected faults, token buckets and the action. In the log: the
    /// call was answered (or dropped) without its action running (credentials, interceptor, injected fault, bucket).</summary>
    BeforeAction,
    /// <summary>The action ran (it succeeded, or failed with an EC2 error); its answer has not been sent yet.</summary>
    AfterAction,
}

/// <summary>One EC2 or STS call that reached the emulator: who made it, when (the emulator's clock), its parameters as
/// sent (flat Query-protocol names: <c>SnapshotId.1</c>, <c>Filter.1.Value.2</c>, <c>TagSpecification.1.Tag.1.Key</c>), and
/// its outcome. Passed to <see cref="EmulatorOptions.Interceptor"/> (before and after the action) and kept in the call
/// log (<see cref="Ec2Emulator.GetCalls()"/>). Immutable: each stage is a copy.</summary>
public sealed record CallInfo
{
    /// <summary>1-based number of the call among every call the emulator logged since start or reset.</summary>
    public long Number { get; init; }
    /// <summary>1-based number of the call among the calls of the same <see cref="Action"/> (any account or region).</summary>
    public int ActionCallNumber { get; init; }
    /// <summary><c>ec2</c> or <c>sts</c>.</summary>
    public string Service { get; init; } = "ec2";
    /// <summary>The action as sent, e.g. <c>CopySnapshot</c>, <c>GetCallerIdentity</c> ("" when the call named none).</summary>
    public string Action { get; init; } = "";
    /// <summary>The account the call acts in ("" when its signature could not be read).</summary>
    public string Account { get; init; } = "";
    /// <summary>The signing region: where the call's resources live ("" when its signature could not be read).</summary>
    public string Region { get; init; } = "";
    public string? AccessKeyId { get; init; }
    /// <summary>The emulator's clock when the call arrived.</summary>
    public DateTimeOffset At { get; init; }
    /// <summary>Every parameter as sent (form body and query string), flat.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    public CallStage Stage { get; init; }

    // ------------------------------------------------------------ outcome (AfterAction and the log)

    /// <summary>HTTP status of the answer: the action's at <see cref="CallStage.AfterAction"/>, the one sent in the log
    /// (for a lost response, the one the action produced but nobody received); 0 when the connection was dropped before
    /// the action, and while not known (<see cref="CallStage.BeforeAction"/>).</summary>
    public int Status { get; init; }
    /// <summary>EC2/STS error code of the answer, null for a success.</summary>
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>The connection was closed instead of answering: before the action (nothing happened) when
    /// <see cref="Stage"/> is <see cref="CallStage.BeforeAction"/>, after it (the "lost response") otherwise.</summary>
    public bool Dropped { get; init; }
    /// <summary>The answer (or drop) came from the <see cref="EmulatorOptions.Interceptor"/>.</summary>
    public bool Intercepted { get; init; }
    /// <summary>Snapshots the action created (CopySnapshot, CreateSnapshot, CreateSnapshots), in order.</summary>
    public IReadOnlyList<string> CreatedSnapshotIds { get; init; } = [];

    /// <summary>Answered 200 and the answer reached the client.</summary>
    [JsonIgnore]
    public bool Succeeded => Status == 200 && !Dropped;

    // ------------------------------------------------------------ reading parameters

    /// <summary>A parameter's value, or null when it was not sent.</summary>
    public string? Get(string name) => Parameters.TryGetValue(name, out var v) ? v : null;

    /// <summary>The list <c>prefix.1</c>, <c>prefix.2</c>, … in index order, e.g. <c>GetList("SnapshotId")</c>,
    /// <c>GetList("Owner")</c>, <c>GetList("Filter.1.Value")</c>.</summary>
    public IReadOnlyList<string> GetList(string prefix)
    {
        var items = new SortedDictionary<int, string>();
        foreach (var (key, value) in Parameters)
            if (key.Length > prefix.Length + 1 && key.StartsWith(prefix + ".", StringComparison.Ordinal)
                && int.TryParse(key.AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                items[n] = value;
        return items.Values.ToList();
    }

    /// <summary><c>Filter.N.Name</c> with its <c>Filter.N.Value.M</c>, in index order.</summary>
    [JsonIgnore]
    public IReadOnlyList<CallFilter> Filters =>
        Indices("Filter").Select(n => new CallFilter(Get($"Filter.{n}.Name") ?? "", GetList($"Filter.{n}.Value"))).ToList();

    /// <summary>The values of every filter named <paramref name="name"/> (e.g. <c>tag:Name</c>, <c>snapshot-id</c>); empty when none.</summary>
    public IReadOnlyList<string> FilterValues(string name) => Filters.Where(f => f.Name == name).SelectMany(f => f.Values).ToList();

    /// <summary><c>TagSpecification.N.ResourceType</c> with its <c>Tag.M.Key/Value</c> (a missing value is empty).</summary>
    [JsonIgnore]
    public IReadOnlyList<CallTagSpecification> TagSpecifications =>
        Indices("TagSpecification").Select(n => new CallTagSpecification(Get($"TagSpecification.{n}.ResourceType") ?? "",
            Indices($"TagSpecification.{n}.Tag").ToDictionary(
                m => Get($"TagSpecification.{n}.Tag.{m}.Key") ?? "", m => Get($"TagSpecification.{n}.Tag.{m}.Value") ?? "",
                StringComparer.Ordinal))).ToList();

    /// <summary>The tags the call asks for on resources of <paramref name="resourceType"/>, all specifications merged.</summary>
    public IReadOnlyDictionary<string, string> TagsFor(string resourceType = "snapshot")
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in TagSpecifications.Where(s => s.ResourceType == resourceType))
            foreach (var (k, v) in spec.Tags) tags[k] = v;
        return tags;
    }

    /// <summary>The indices N of the structures <c>prefix.N.…</c>, ascending.</summary>
    private IEnumerable<int> Indices(string prefix)
    {
        var found = new SortedSet<int>();
        foreach (var key in Parameters.Keys)
        {
            if (!key.StartsWith(prefix + ".", StringComparison.Ordinal)) continue;
            var rest = key.AsSpan(prefix.Length + 1);
            var dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) found.Add(n);
        }
        return found;
    }

    public override string ToString() =>
        $"#{Number} {Service}:{Action} ({ActionCallNumber}) {Account}/{Region} at {At:O} → " +
        (Dropped ? "dropped" : ErrorCode is null ? Status.ToString(CultureInfo.InvariantCulture) : $"{Status} {ErrorCode}");
}

public sealed record CallFilter(string Name, IReadOnlyList<string> Values);

public sealed record CallTagSpecification(string ResourceType, IReadOnlyDictionary<string, string> Tags);

/// <summary>What the <see cref="EmulatorOptions.Interceptor"/> makes of a call: an error answer, or a dropped
/// connection. Before the action, either means nothing happened (no token is taken, no injected fault is drawn). After
/// it, the action's effects stay: an error replaces its answer, a drop is the "lost response" (the resource exists, the
/// client sees an I/O error).</summary>
public sealed record CallDecision
{
    public int Status { get; init; }
    public string? ErrorCode { get; init; }
    public string Message { get; init; } = "";
    /// <summary>Close the connection without an answer (<see cref="Status"/> and <see cref="ErrorCode"/> unused).</summary>
    public bool DropConnection { get; init; }

    /// <summary>An EC2 error answer (for STS calls an STS one, in the call's protocol).</summary>
    public static CallDecision Error(string code, int status = 400, string message = "") =>
        new() { ErrorCode = code, Status = status, Message = message };

    /// <summary>HTTP 503 <c>RequestLimitExceeded</c>, as EC2's token buckets answer (counted as a throttle).</summary>
    public static CallDecision Throttle() => Error("RequestLimitExceeded", 503, "Request limit exceeded.");

    /// <summary>HTTP 500 <c>InternalError</c>.</summary>
    public static CallDecision InternalError() => Error("InternalError", 500, "An internal error has occurred");

    /// <summary>HTTP 503 <c>Unavailable</c>.</summary>
    public static CallDecision Unavailable() => Error("Unavailable", 503, "The service is unavailable. Please try again shortly.");

    /// <summary>Close the connection: before the action nothing happened; after it, the response is lost.</summary>
    public static CallDecision Drop() => new() { DropConnection = true };
}

/// <summary>What <see cref="EmulatorOptions.ShapeOf"/> decides for one new snapshot or copy; a null member leaves that
/// part to the emulator (<see cref="EmulatorOptions.DurationOf"/>, the sampled durations, <see cref="FaultConfig"/> rates,
/// KMS key checks).</summary>
public sealed record SnapshotShape
{
    /// <summary>Seconds the snapshot stays <c>pending</c>, exactly: no cross-region or incremental factor, no cap by
    /// CompletionDurationMinutes (EC2 lets a time-based copy finish late), no shortening of failures.</summary>
    public double? DurationSeconds { get; init; }
    /// <summary><c>completed</c> or <c>error</c>: how the snapshot ends (in place of fault rates and KMS checks).</summary>
    public string? FinalState { get; init; }
    /// <summary>The <c>statusMessage</c> of a snapshot that ends in <c>error</c> (default: the emulator's failure text).</summary>
    public string? StatusMessage { get; init; }
    /// <summary>Eventual consistency: seconds during which DescribeSnapshots does not see the new snapshot (0: at once),
    /// in place of <see cref="FaultConfig.InvisibleRate"/>.</summary>
    public double? InvisibleSeconds { get; init; }

    /// <summary>Ends in <c>error</c> with <paramref name="message"/> after <paramref name="afterSeconds"/>.</summary>
    public static SnapshotShape Fails(double afterSeconds, string? message = null) =>
        new() { DurationSeconds = afterSeconds, FinalState = "error", StatusMessage = message };

    /// <summary>Completes after <paramref name="seconds"/>.</summary>
    public static SnapshotShape Takes(double seconds) => new() { DurationSeconds = seconds };
}
