using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Avtomat.Ec2.Commands;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Planning;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Waiting;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>
/// Help that cannot drift: the help as users get it (the MAML and every about_*.help.txt in the laid-out module's en-US
/// folder, and Get-Help's objects) is read and checked against the code.
/// <list type="bullet">
/// <item>Every number in descriptive text (digits, and the words two to twenty) is either tied to a code fact
/// (<see cref="Facts"/>: a phrase with a # where the number stands, and the value read from the code) or on the short
/// list of numbers that are not facts about the code (<see cref="NotCodeFacts"/>, each with its reason). Any other number
/// fails, as does a table entry that no longer matches anything (so the tables cannot rot into passing).</item>
/// <item>Every -Name mentioned is a parameter or alias of the cmdlet the sentence names (or the help's own cmdlet), or
/// of the AWS Tools cmdlet it names, from a short list.</item>
/// <item>Every parameter has a description; the help's parameters, syntax, aliases and positions equal the code's.</item>
/// <item>Output properties named in the outputs section exist on the output types.</item>
/// </list>
/// Example code (dev:code) is not read here: HelpExampleTests runs it against the emulator.
/// </summary>
public sealed class HelpDriftTests
{
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static readonly string[] CmdletNames = { "Copy-AvSnapshot", "Measure-AvSnapshotCopy", "New-AvSnapshot", "Wait-AvSnapshot" };

    private static readonly Dictionary<string, Type> CmdletTypes = new(StringComparer.Ordinal)
    {
        ["Copy-AvSnapshot"] = typeof(CopyAvSnapshotCommand),
        ["Measure-AvSnapshotCopy"] = typeof(MeasureAvSnapshotCopyCommand),
        ["New-AvSnapshot"] = typeof(NewAvSnapshotCommand),
        ["Wait-AvSnapshot"] = typeof(WaitAvSnapshotCommand),
    };

    public static string HelpDirectory => Path.Combine(PowerShellHost.ModuleDirectory, "en-US");
    public static string MamlPath => Path.Combine(HelpDirectory, "Avtomat.Ec2.dll-Help.xml");

    /// <summary>A piece of help text: where it is, the cmdlet it documents (null in an about topic), the parameter it
    /// describes (if any), and its text with runs of white space made one space.</summary>
    public sealed record Passage(string Where, string? Cmdlet, string? Parameter, string Text);

    public static IReadOnlyList<Passage> Passages()
    {
        var list = new List<Passage>();
        foreach (var command in XDocument.Load(MamlPath).Root!.Elements(Command + "command"))
        {
            var name = command.Element(Command + "details")!.Element(Command + "name")!.Value.Trim();
            void Add(string where, string? parameter, IEnumerable<XElement> paras)
            {
                foreach (var p in paras) list.Add(new Passage($"{name} {where}", name, parameter, Normalize(p.Value)));
            }
            Add("synopsis", null, command.Element(Command + "details")!.Descendants(Maml + "para"));
            Add("description", null, command.Elements(Maml + "description").Descendants(Maml + "para"));
            foreach (var parameter in command.Element(Command + "parameters")?.Elements(Command + "parameter") ?? [])
            {
                var p = parameter.Element(Maml + "name")!.Value.Trim();
                Add("-" + p, p, parameter.Elements(Maml + "description").Descendants(Maml + "para"));
            }
            Add("inputs", null, command.Descendants(Command + "inputType").Descendants(Maml + "para"));
            Add("outputs", null, command.Descendants(Command + "returnValue").Descendants(Maml + "para"));
            Add("notes", null, command.Elements(Maml + "alertSet").Descendants(Maml + "para"));
            var n = 0;
            foreach (var example in command.Descendants(Command + "example"))
            {
                n++;
                Add($"example {n}", null, example.Elements(Dev + "remarks").Descendants(Maml + "para"));
            }
        }
        foreach (var file in AboutFiles())
        {
            // Paragraphs: blank-line separated; a numbered list's marker ("    1. ") is layout, not a number.
            var text = Regex.Replace(File.ReadAllText(file), @"(?m)^\s+\d+\.\s", "    - ");
            foreach (var paragraph in Regex.Split(text, @"\r?\n\s*\r?\n"))
                if (paragraph.Trim().Length > 0) list.Add(new Passage(Path.GetFileName(file), null, null, Normalize(paragraph)));
        }
        return list;
    }

    public static IReadOnlyList<string> AboutFiles() => Directory.GetFiles(HelpDirectory, "about_*.help.txt").OrderBy(f => f, StringComparer.Ordinal).ToList();

    private static string Normalize(string text) => Regex.Replace(text, @"\s+", " ").Trim();

    // ---------------------------------------------------------------------------------------------------- numbers

    private static readonly Dictionary<string, decimal> NumberWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6, ["seven"] = 7, ["eight"] = 8, ["nine"] = 9, ["ten"] = 10,
        ["eleven"] = 11, ["twelve"] = 12, ["fifteen"] = 15, ["twenty"] = 20,
    };

    private const string NumberPattern = @"(?<![\w.:/@-])(\d+(?:[.,]\d+)*)(?![\w-]|\.\d)";
    private static readonly Regex Numbers = new(NumberPattern + @"|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static decimal ValueOf(string token) =>
        NumberWords.TryGetValue(token, out var word) ? word : decimal.Parse(token.Replace(",", ""), CultureInfo.InvariantCulture);

    /// <summary>A code fact: a phrase (# where each number stands, in order) and the values the code says.</summary>
    public sealed record Fact(string Phrase, Func<Passage, decimal[]> Values, string From)
    {
        public Fact(string phrase, string from, params decimal[] values) : this(phrase, _ => values, from) { }
        public Regex Pattern { get; } = ToRegex(Phrase);
    }

    /// <summary>A number that is not a fact about the code, and why.</summary>
    public sealed record NotAFact(string Phrase, string Reason)
    {
        public Regex Pattern { get; } = ToRegex(Phrase);
    }

    private static Regex ToRegex(string phrase)
    {
        var parts = phrase.Split('#');
        var pattern = string.Join(@"(?<n>\d+(?:[.,]\d+)*|(?i:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty))", parts.Select(Regex.Escape));
        return new Regex(pattern, RegexOptions.CultureInvariant);
    }

    private static T Field<T>(Type type, string name) =>
        (T)(type.GetField(name, BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)
            ?? throw new MissingFieldException(type.Name, name)).GetValue(null)!;

    private static ParameterAttribute ParameterOf(Type cmdlet, string parameter) =>
        cmdlet.GetProperty(parameter)!.GetCustomAttributes<ParameterAttribute>().First();

    private static T AttributeOf<T>(Type cmdlet, string parameter) where T : Attribute => cmdlet.GetProperty(parameter)!.GetCustomAttribute<T>()!;

    private static decimal[] IdDigits()
    {
        var regex = typeof(ValidateEc2IdAttribute).GetField("_pattern", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(new ValidateSnapshotIdAttribute())!.ToString()!;
        return Regex.Matches(regex, @"\{(\d+)\}").Select(m => decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>A parameter's default in the Azure Automation runbook sample (its param block), as the about topic states it.</summary>
    private static decimal RunbookDefault(string parameter)
    {
        var sample = File.ReadAllText(Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "samples", "runbooks", "Copy-AvSnapshot.AzureAutomation.ps1"));
        var m = Regex.Match(sample, @"\$" + parameter + @"\s*=\s*(\d+(?:\.\d+)?)", RegexOptions.IgnoreCase);
        Assert.True(m.Success, $"no default for ${parameter} in the runbook sample");
        return decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static decimal[] Bucket(string action) => new[] { (decimal)Ec2Buckets.All[action].Burst, (decimal)Ec2Buckets.All[action].RefillPerSecond };

    /// <summary>Each fact in the help, and where in the code it comes from.</summary>
    public static IReadOnlyList<Fact> Facts()
    {
        var engine = SnapshotEngine.Shared;
        var window = (decimal)engine.RegionCopyLimit;
        var waitDefaults = new WaitJobOptions();
        var throttle = AttributeOf<ValidateRangeAttribute>(typeof(CopyAvSnapshotCommand), "ThrottleLimit");
        var minutes = AttributeOf<ValidateRangeAttribute>(typeof(CopyAvSnapshotCommand), "CompletionDurationMinutes");
        var minuteStep = AttributeOf<ValidateMultipleOfAttribute>(typeof(CopyAvSnapshotCommand), "CompletionDurationMinutes").Step;
        var progress = Field<TimeSpan>(typeof(EngineCmdlet<SnapshotCopyRequest, SnapshotCopyResult>), "ProgressInterval");
        var slots = Field<int>(typeof(EngineCmdlet<SnapshotCopyRequest, SnapshotCopyResult>), "SnapshotProgressSlots");
        var provenance = CopyTagNames.All.Length;
        var createTags = (decimal)Field<int>(typeof(NewAvSnapshotCommand), "ProvenanceTags");
        var prices = new PriceTable();
        var firstTier = prices.TimeBasedPerGiB.First();
        var lastTier = prices.TimeBasedPerGiB.Last();
        var sixty = prices.TimeBasedPerGiB[60];
        var idDigits = IdDigits();
        decimal[] Positions(Passage p) => p.Cmdlet is { } c && p.Parameter is { } name ? new[] { (decimal)ParameterOf(CmdletTypes[c], name).Position } : [];
        decimal Position(Type t, string name) => ParameterOf(t, name).Position;
        var copy = typeof(CopyAvSnapshotCommand);
        var create = typeof(NewAvSnapshotCommand);
        return new List<Fact>
        {
            // EC2's window, the engine's per destination region and account (SnapshotEngine.RegionCopyLimit).
            new("EC2 allows # copies in progress", "SnapshotEngine.RegionCopyLimit", window),
            new("never exceed # either", "SnapshotEngine.RegionCopyLimit", window),
            new("EC2 allows # pending copies", "SnapshotEngine.RegionCopyLimit", window),
            new("EC2's # per destination region", "SnapshotEngine.RegionCopyLimit", window),
            new("window of # copies", "SnapshotEngine.RegionCopyLimit", window),
            new("# pending copies per destination region", "SnapshotEngine.RegionCopyLimit", window),
            new("at most # copies in progress (pending) per destin", "SnapshotEngine.RegionCopyLimit", window),
            new("with more than # snapshots", "SnapshotEngine.RegionCopyLimit", window),
            // -ThrottleLimit's range and default.
            new("-ThrottleLimit copies (default #)", "Copy-AvSnapshot -ThrottleLimit default", new CopyAvSnapshotCommand().ThrottleLimit),
            new("-ThrottleLimit (default #)", "Copy-AvSnapshot -ThrottleLimit default", new CopyAvSnapshotCommand().ThrottleLimit),
            new("for this command, # to # (default #)", "[ValidateRange] and default of -ThrottleLimit",
                Convert.ToDecimal(throttle.MinRange, CultureInfo.InvariantCulture), Convert.ToDecimal(throttle.MaxRange, CultureInfo.InvariantCulture), new CopyAvSnapshotCommand().ThrottleLimit),
            new("at most # at a time", "Copy-AvSnapshot -ThrottleLimit default", new CopyAvSnapshotCommand().ThrottleLimit),
            // -CompletionDurationMinutes.
            new("this many minutes: # to # (# hours), in steps of #", "[ValidateRange] and [ValidateMultipleOf] of -CompletionDurationMinutes",
                Convert.ToDecimal(minutes.MinRange, CultureInfo.InvariantCulture), Convert.ToDecimal(minutes.MaxRange, CultureInfo.InvariantCulture),
                Convert.ToDecimal(minutes.MaxRange, CultureInfo.InvariantCulture) / 60, minuteStep),
            // Time-based copies' throughput.
            new("EC2's default is #", "CopyJobOptions.DefaultTimeBasedThroughputQuota", (decimal)CopyJobOptions.DefaultTimeBasedThroughputQuota),
            new("at most # MiB/s per copy", "CopyThroughput.MaxPerCopyMiBps", (decimal)CopyThroughput.MaxPerCopyMiBps),
            new("allows at # MiB/s", "CopyThroughput.MaxPerCopyMiBps", (decimal)CopyThroughput.MaxPerCopyMiBps),
            // Stops, failures, progress.
            new("(at most # s)", "EngineJob.SentCallGrace", (decimal)EngineJob.SentCallGrace.TotalSeconds),
            new("cannot be reached for # minutes", "JobOptions.UnreachableAfter", (decimal)waitDefaults.UnreachableAfter.TotalMinutes),
            new("refreshed at most every # ms", "EngineCmdlet.ProgressInterval", (decimal)progress.TotalMilliseconds),
            new("written about # times a second", "EngineCmdlet.ProgressInterval (1000 ms / interval, rounded)", Math.Round(1000m / (decimal)progress.TotalMilliseconds)),
            new("(at most # shown per region)", "EngineCmdlet.SnapshotProgressSlots", slots),
            // Polling (adaptive, between the floor and the ceiling of the jobs' poll intervals).
            new("between # second and # minutes", "JobOptions.PollInterval and JobOptions.DefaultMaxPollInterval",
                (decimal)waitDefaults.PollInterval.TotalSeconds, (decimal)JobOptions.DefaultMaxPollInterval.TotalMinutes),
            // Ids, descriptions, tags.
            new("followed by # or # hexadecimal digits", "ValidateEc2IdAttribute's pattern", idDigits),
            new("and # or # hexadecimal digits", "ValidateEc2IdAttribute's pattern", idDigits),
            new("EC2 allows at most # characters in a description", "DescriptionTemplate.MaxLength", DescriptionTemplate.MaxLength),
            new("is cut to # characters", "DescriptionTemplate.MaxLength", DescriptionTemplate.MaxLength),
            new("keys are at most # characters, values at most #", "TagParameter.MaxKeyLength, MaxValueLength", TagParameter.MaxKeyLength, TagParameter.MaxValueLength),
            new("and at most # tags (EC2 allows # per snapshot and the module adds # provenance tags)", "CopyRules.MaxTags - CopyTagNames.All.Length, CopyRules.MaxTags, CopyTagNames.All.Length",
                CopyRules.MaxTags - provenance, CopyRules.MaxTags, provenance),
            // Positions.
            new("are positions #, # and #", "Copy-AvSnapshot's [Parameter(Position)]", Position(copy, "SnapshotId"), Position(copy, "SourceRegion"), Position(copy, "Description")),
            new("are positions # and #", "New-AvSnapshot's [Parameter(Position)]", Position(create, "VolumeId"), Position(create, "Description")),
            new("Position #, as in", Positions, "the described parameter's [Parameter(Position)]"),
            new("position #, as in", Positions, "the described parameter's [Parameter(Position)]"),
            // EC2's per-volume rules and request buckets, as the engine keeps them.
            new("at most # pending snapshots per volume (# for st1 and sc1 volumes) and at least # seconds", "SnapshotEngine.MaxPendingPerVolume, MaxPendingPerThroughputVolume, VolumeSnapshotSpacing",
                engine.MaxPendingPerVolume, engine.MaxPendingPerThroughputVolume, (decimal)engine.VolumeSnapshotSpacing.TotalSeconds),
            new("at most # pending snapshots (# for st1 and sc1 volumes), and at least # seconds", "SnapshotEngine.MaxPendingPerVolume, MaxPendingPerThroughputVolume, VolumeSnapshotSpacing",
                engine.MaxPendingPerVolume, engine.MaxPendingPerThroughputVolume, (decimal)engine.VolumeSnapshotSpacing.TotalSeconds),
            new("token bucket (# calls at once, then # per second", "Ec2Buckets CreateSnapshot", Bucket("CreateSnapshot")),
            new("CreateSnapshot and DeleteSnapshot # calls at once, then # a second", "Ec2Buckets CreateSnapshot = DeleteSnapshot",
                Bucket("CreateSnapshot").SequenceEqual(Bucket("DeleteSnapshot")) ? Bucket("CreateSnapshot") : []),
            new("CopySnapshot # then #", "Ec2Buckets CopySnapshot", Bucket("CopySnapshot")),
            new("DescribeSnapshots # then # (filtered)", "Ec2Buckets DescribeSnapshots", Bucket("DescribeSnapshots")),
            // The plan's defaults and prices.
            new("the stated default is # seconds per GiB", "Scheduler.DefaultFullCopySecondsPerGiB", (decimal)Scheduler.DefaultFullCopySecondsPerGiB),
            new("(about # MiB/s)", "1024 / Scheduler.DefaultFullCopySecondsPerGiB, rounded", Math.Round(1024m / (decimal)Scheduler.DefaultFullCopySecondsPerGiB)),
            new("at least # seconds. DurationLearned", "Scheduler.MinimumCopySeconds", (decimal)Scheduler.MinimumCopySeconds),
            new("snapshot storage $# per GB-month", "PriceTable.StoragePerGiBMonth", prices.StoragePerGiBMonth),
            new("surcharge per GiB from $# for # minutes down to $# for # hours", "PriceTable.TimeBasedPerGiB (first and last tier)",
                firstTier.Value, firstTier.Key, lastTier.Value, lastTier.Key / 60m),
            new("about $# per GB between regions", "PriceTable.CrossRegionTransferPerGiB", prices.CrossRegionTransferPerGiB),
            new("'us-east-1>eu-west-1' = # }", "PriceTable.CrossRegionTransferPerGiB (an entry like the default)", prices.CrossRegionTransferPerGiB),
            new("@{ # = #; # = # }", "PriceTable.TimeBasedPerGiB (15- and 60-minute tiers)", firstTier.Key, firstTier.Value, 60, sixty),
            // The module.
            new("Avtomat.Ec2 has # cmdlets", "the cmdlets the module exports", CmdletTypes.Count),
            // The about topics (about_Avtomat.Ec2*, laid out by the docs): the same facts in their words.
            new("at least # second and at most # minutes apart", "JobOptions.PollInterval and JobOptions.DefaultMaxPollInterval",
                (decimal)waitDefaults.PollInterval.TotalSeconds, (decimal)JobOptions.DefaultMaxPollInterval.TotalMinutes),
            new("window of # less the copies", "SnapshotEngine.RegionCopyLimit", window),
            new("one slot per finished copy and one every # seconds", "SnapshotEngine.CopyWindowRecovery", (decimal)engine.CopyWindowRecovery.TotalSeconds),
            new("leaves # calls of each bucket", "SnapshotEngine.PacingMargin", engine.PacingMargin),
            new("(-CompletionDurationMinutes, # to # in steps of #)", "[ValidateRange] and [ValidateMultipleOf] of -CompletionDurationMinutes",
                (decimal)(int)minutes.MinRange, (decimal)(int)minutes.MaxRange, minuteStep),
            new("EC2 gives one copy at most # MiB/s", "CopyThroughput.MaxPerCopyMiBps", (decimal)CopyThroughput.MaxPerCopyMiBps),
            new("cannot keep at # MiB/s", "CopyThroughput.MaxPerCopyMiBps", (decimal)CopyThroughput.MaxPerCopyMiBps),
            new("destination region # MiB/s by default", "CopyJobOptions.DefaultTimeBasedThroughputQuota", (decimal)CopyJobOptions.DefaultTimeBasedThroughputQuota),
            new("EC2 allows # tags on a snapshot. A copy gets # provenance tags (below), so -Tag takes at most #; New-AvSnapshot keeps # for its own, so at most #",
                "TagParameter.MaxTagsPerResource, CopyTagNames.All, NewAvSnapshotCommand.ProvenanceTags",
                TagParameter.MaxTagsPerResource, provenance, TagParameter.MaxTagsPerResource - provenance, createTags, TagParameter.MaxTagsPerResource - createTags),
            new("EC2's answer (# seconds at most)", "EngineJob.SentCallGrace", (decimal)EngineJob.SentCallGrace.TotalSeconds),
            new("Description: at most # characters", "DescriptionTemplate.MaxLength", DescriptionTemplate.MaxLength),
            new("visibility delay (# seconds)", "JobOptions.VisibilityGrace default", (decimal)new CopyJobOptions().VisibilityGrace.TotalSeconds),
            new("a few looks over # seconds", "JobOptions.VisibilityGrace default", (decimal)new CopyJobOptions().VisibilityGrace.TotalSeconds),
            new("stands in for the account for # minutes", "AccountResolver.StandInLifetime", (decimal)Avtomat.Ec2.Engine.Aws.AccountResolver.StandInLifetime.TotalMinutes),
            new("TimeBudgetMinutes defaults to #", "samples/runbooks/Copy-AvSnapshot.AzureAutomation.ps1's param default", RunbookDefault("TimeBudgetMinutes")),
            // The emulator's address in the examples, which HelpExampleTests maps to its emulator.
            new("--port #", "HelpExamples.HelpExampleTests.EmulatorAddress", new Uri(HelpExamples.HelpExampleTests.EmulatorAddress).Port),
        };
    }

    /// <summary>Numbers that are not facts about this module's code.</summary>
    public static readonly NotAFact[] NotCodeFacts =
    {
        new("fits # columns", "the width the format views are rendered at and checked by FormatViewTests"),
        new("such as #%", "an example of a progress value"),
        new("#% for one not finished", "an example of a progress value"),
        new("(\"Copying # snapshots", "an example of a progress record's text"),
        new("(\"Creating # snapshots", "an example of a progress record's text"),
        new("(\"Waiting for # snapshots", "an example of a progress record's text"),
        new("The waiter polls every # seconds and gives up after # attempts (# minutes) with exit code #",
            "the AWS CLI's snapshot-completed waiter (https://docs.aws.amazon.com/cli/latest/reference/ec2/wait/snapshot-completed.html)"),
        new("-Timeout # is the waiter's limit", "the AWS CLI waiter's 40 × 15 s"),
        new("for at most # minutes (the waiter's # attempts of # seconds)", "the AWS CLI waiter"),
        new("stops a cloud job after # hours", "Azure Automation's fair share limit"),
        new("one of the #", "a pair, not a count of the code's"),
        new("between # snapshots of one volume", "a pair of snapshots, not a count"),
        new("Copies # snapshots", "an example's narration; HelpExampleTests runs the example"),
        new("at most # hours", "an example's narration of its own -Timeout; HelpExampleTests runs the example"),
        new("The first # commands", "an example's narration"),
        new("Waits # minutes at most", "an example's narration of its own -Timeout"),
        new("at most # copies in progress, writes", "an example's narration of its own -ThrottleLimit"),
        new("split in #", "prose"),
        new("Wait-AvSnapshot -Timeout #", "an example's value, in an about topic's example"),
        new("within # minutes (a time-based copy", "an example's narration of its own -CompletionDurationMinutes"),
        new("quota of # MiB/s between the # regions", "an example's narration of its own -CopyThroughputQuota (and a pair of regions)"),
        new("below # USD", "an example's own threshold"),
        new("Reused (# here); with -CopyAgain it plans them again (# reused)", "what the example outputs, checked by HelpExampleTests"),
        new("The next # plan", "a count of the example's commands"),
        new("The last # plan", "a count of the example's commands"),
        new("-Timeout # stops waiting after # minutes", "an example's narration of its own -Timeout"),
        new("# snapshots of one volume copied in the same run", "a pair, not a count"),
        new("# runs over the same sources at the same moment (# processes)", "a pair, not a count"),
        new("it renews # minutes before they expire, so sessions of # minutes", "the AWS SDK's PreemptExpiryTime for STS credentials, not this module's"),
        new("-ThrottleLimit # -Parallel", "an example's value for ForEach-Object"),
        new("step after # seconds", "AWS Systems Manager's limit on an aws:executeScript step"),
        new("one step may run at most # seconds", "AWS Systems Manager's limit on an aws:executeScript step"),
        new("PowerShell # runtime", "the Azure Automation runtime the sample targets"),
        new("step (PowerShell #)", "the runtime AWS Systems Manager's aws:executeScript offers"),
        new("under the # hours after which Azure stops", "Azure Automation's fair share limit"),
        new("from # Automation variables", "a pair, not a count"),
        new("holds # tested runbooks", "the samples folder's content, listed by the Runbooks Pester file"),
    };

    public sealed record Occurrence(Passage Passage, int Index, string Token)
    {
        public override string ToString() =>
            $"{Passage.Where}: '{Token}' in \"…{Passage.Text.Substring(Math.Max(0, Index - 70), Math.Min(Passage.Text.Length, Index + 50) - Math.Max(0, Index - 70))}…\"";
    }

    public static IEnumerable<Occurrence> NumbersIn(IEnumerable<Passage> passages) =>
        passages.SelectMany(p => Numbers.Matches(p.Text).Select(m => new Occurrence(p, m.Index, m.Value)));

    /// <summary>The facts whose phrase puts a number at this occurrence, with the value the code says there.</summary>
    private static IEnumerable<(Fact Fact, decimal Expected)> PhrasesAt(Occurrence o, IEnumerable<Fact> facts)
    {
        foreach (var fact in facts)
        {
            foreach (Match m in fact.Pattern.Matches(o.Passage.Text))
            {
                var captures = m.Groups["n"].Captures;
                for (var i = 0; i < captures.Count; i++)
                {
                    if (captures[i].Index != o.Index) continue;
                    var values = fact.Values(o.Passage);
                    yield return (fact, i < values.Length ? values[i] : decimal.MinValue);
                }
            }
        }
    }

    private static bool Excused(Occurrence o, NotAFact entry) =>
        entry.Pattern.Matches(o.Passage.Text).Any(m => m.Groups["n"].Captures.Any(c => c.Index == o.Index));

    [Fact]
    public void EveryNumberInTheHelp_IsACodeFact_OrOnTheListOfNumbersThatAreNot()
    {
        var passages = Passages();
        var facts = Facts();
        var occurrences = NumbersIn(passages).ToList();
        Assert.True(occurrences.Count > 50, $"only {occurrences.Count} numbers were found: is the help read at all?");

        var problems = new List<string>();
        var usedFacts = new HashSet<Fact>();
        var usedExcuses = new HashSet<NotAFact>();
        foreach (var o in occurrences)
        {
            var phrases = PhrasesAt(o, facts).ToList();
            if (phrases.Count > 0)
            {
                foreach (var (fact, expected) in phrases)
                {
                    usedFacts.Add(fact);
                    if (ValueOf(o.Token) != expected) problems.Add($"{o}: the code says {expected} ({fact.From})");
                }
                continue;
            }
            var excuse = NotCodeFacts.FirstOrDefault(e => Excused(o, e));
            if (excuse is not null)
            {
                usedExcuses.Add(excuse);
                continue;
            }
            problems.Add($"{o}: neither tied to a code fact (HelpDriftTests.Facts) nor on the list of numbers that are not facts about the code");
        }
        Assert.True(problems.Count == 0, "Numbers in the help that disagree with the code or are not checked:\n" + string.Join("\n", problems));

        // The tables cannot rot: an entry that matches nothing is stale (the help stopped saying it, or says it otherwise).
        var stale = facts.Where(f => !usedFacts.Contains(f)).Select(f => $"fact '{f.Phrase}' ({f.From})")
            .Concat(NotCodeFacts.Where(e => !usedExcuses.Contains(e)).Select(e => $"non-fact '{e.Phrase}'"));
        Assert.True(!stale.Any(), "Entries that match nothing in the help:\n" + string.Join("\n", stale));
    }

    [Fact]
    public void TheChecker_CatchesAWrongNumber_AndAnUncheckedOne()
    {
        // The checks above on text made up for the purpose: a wrong tag count and poll interval, and a number no table knows.
        var made = new[]
        {
            new Passage("made-up", "Copy-AvSnapshot", null, "Tags: keys are at most 128 characters, values at most 256, and at most 47 tags (EC2 allows 50 per snapshot and the module adds three provenance tags)."),
            new Passage("made-up", "Wait-AvSnapshot", null, "It looks between 2 second and 5 minutes apart, and 17 more things."),
        };
        var facts = Facts();
        var wrong = NumbersIn(made).Where(o => PhrasesAt(o, facts).Any(p => p.Expected != ValueOf(o.Token))).Select(o => o.Token).ToList();
        Assert.Equal(["47", "three", "2"], wrong);
        var unexcused = NumbersIn(made).Where(o => !PhrasesAt(o, facts).Any() && !NotCodeFacts.Any(e => Excused(o, e))).Select(o => o.Token).ToList();
        Assert.Equal(["17"], unexcused);
    }

    // ---------------------------------------------------------------------------------------------------- names

    /// <summary>Parameters of AWS Tools cmdlets and the AWS CLI that the help names, as those tools document them.</summary>
    private static readonly Dictionary<string, string[]> ForeignParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Copy-EC2Snapshot"] = ["SourceSnapshotId", "SourceRegion", "Description", "Region", "RegionToCall", "DestinationRegion", "Encrypted", "KmsKeyId", "TagSpecification",
            "DestinationOutpostArn", "DestinationAvailabilityZone", "CompletionDurationMinute", "PresignedUrl", "Select", "PassThru", "ClientConfig", "Force"],
        ["New-EC2Snapshot"] = ["DryRun", "VolumeId", "Description", "Region", "RegionToCall", "TagSpecification", "OutpostArn", "Location", "Select", "PassThru", "ClientConfig", "Force"],
        ["Get-EC2Snapshot"] = ["OwnerId", "Filter", "SnapshotId", "RestorableByUserId", "Region", "ProfileName", "Credential", "AccessKey", "SecretKey", "ProfileLocation", "EndpointUrl"],
        ["Get-EC2Volume"] = ["VolumeId", "Filter", "Region", "ProfileName", "Credential", "AccessKey", "SecretKey", "ProfileLocation", "EndpointUrl"],
        ["Get-EC2Instance"] = ["InstanceId", "Filter", "Region"],
        ["Get-EC2AvailabilityZone"] = ["Filter", "Region"],
        ["Set-AWSCredential"] = ["ProfileName", "AccessKey", "SecretKey", "StoreAs", "Scope"],
        ["Set-DefaultAWSRegion"] = ["Region", "Scope"],
        ["Get-AWSCredential"] = ["ProfileName", "ProfileLocation"],
        ["New-AWSCredential"] = ["AccessKey", "SecretKey", "SessionToken"],
        ["Select-Object"] = ["ExpandProperty", "First", "Property"],
        ["ForEach-Object"] = ["Parallel", "ThrottleLimit"],
        ["Import-Module"] = ["Name"],
        ["Get-Help"] = ["Parameter", "Full", "Online", "Examples", "Name"],
        ["Where-Object"] = ["Property"],
        ["Wait-Job"] = ["Any"],
    };

    private static readonly Regex CmdletName = new(@"\b[A-Z][A-Za-z]+-[A-Z][A-Za-z0-9]+\b", RegexOptions.CultureInvariant);
    private static readonly Regex ParameterName = new(@"(?<![\w$@'/-])-([A-Z][A-Za-z]+)\b", RegexOptions.CultureInvariant);

    [Fact]
    public void EveryParameterNamedInTheHelp_ExistsOnTheCmdletItIsNamedWith()
    {
        using var host = new PowerShellHost();
        var ours = CmdletNames.ToDictionary(n => n, n => NamesOf(host, n), StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var checkedCount = 0;
        foreach (var passage in Passages())
        {
            foreach (Match m in ParameterName.Matches(passage.Text))
            {
                var name = m.Groups[1].Value;
                // The cmdlet the parameter follows on the same command line ("Get-EC2Snapshot -Filter … -OwnerId", "New-EC2Snapshot's
                // -DryRun", "New-AvSnapshot (for example with -NoWait": nothing but words, values, an opening parenthesis and other
                // parameters between), else the help's own cmdlet.
                var named = CmdletName.Matches(passage.Text[..m.Index])
                    .LastOrDefault(c => Regex.IsMatch(passage.Text[(c.Index + c.Length)..m.Index], @"^('s)?(\s+(?!or\b|and\b)[^\s.,;:)]+)*\s+$"))?.Value;
                var subject = named ?? passage.Cmdlet;
                checkedCount++;
                if (subject is null)
                {
                    if (!ours.Values.Any(set => set.Contains(name))) problems.Add($"{passage.Where}: -{name} is a parameter of none of the module's cmdlets");
                }
                else if (ours.TryGetValue(subject, out var names))
                {
                    if (!names.Contains(name)) problems.Add($"{passage.Where}: -{name} is not a parameter or alias of {subject}: \"{Around(passage.Text, m.Index)}\"");
                }
                else if (!(ForeignParameters.TryGetValue(subject, out var foreign) && foreign.Contains(name, StringComparer.OrdinalIgnoreCase)))
                {
                    problems.Add($"{passage.Where}: -{name} is named with {subject}, which is not in HelpDriftTests.ForeignParameters with that parameter: \"{Around(passage.Text, m.Index)}\"");
                }
            }
        }
        Assert.True(checkedCount > 100, $"only {checkedCount} parameter names were found");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static string Around(string text, int index) => text.Substring(Math.Max(0, index - 60), Math.Min(text.Length, index + 40) - Math.Max(0, index - 60));

    /// <summary>Every parameter name and alias a cmdlet takes (common parameters included).</summary>
    private static HashSet<string> NamesOf(PowerShellHost host, string cmdlet) =>
        host.Run("(Get-Command -Name $args[0]).Parameters.Values | ForEach-Object { $_.Name; $_.Aliases }", cmdlet)
            .Select(o => o.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);

    [Theory]
    [MemberData(nameof(HelpAndSyntaxTests.Cmdlets), MemberType = typeof(HelpAndSyntaxTests))]
    public void EveryParameter_HasHelp_WithTheCodesAliasesPositionAndSyntax(string name)
    {
        using var host = new PowerShellHost();
        // What Get-Command knows: visible parameters (not DontShow, not common), with aliases, position and sets.
        var code = host.Run(@"
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            $command = Get-Command -Name $args[0]
            foreach ($p in $command.Parameters.Values) {
                if ($common -contains $p.Name) { continue }
                $attributes = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
                if ($attributes.Count -eq 0 -or ($attributes | Where-Object DontShow)) { continue }
                $position = @($attributes | ForEach-Object Position | Where-Object { $_ -ge 0 } | Select-Object -First 1)
                [pscustomobject]@{
                    Name = $p.Name
                    Aliases = (@($p.Aliases | Sort-Object) -join ', ')
                    Position = if ($position.Count) { [string]$position[0] } else { 'named' }
                }
            }", name).ToDictionary(o => o.Properties["Name"].Value.ToString()!, o => o, StringComparer.Ordinal);
        var sets = host.Run(@"
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            foreach ($set in (Get-Command -Name $args[0]).ParameterSets) {
                (@($set.Parameters | Where-Object { $common -notcontains $_.Name -and -not ($_.Attributes | Where-Object DontShow) } | ForEach-Object Name | Sort-Object) -join ',')
            }", name).Select(o => o.ToString()).OrderBy(s => s, StringComparer.Ordinal).ToList();

        // What Get-Help shows (the MAML as PowerShell reads it).
        var help = host.Run(@"
            foreach ($p in (Get-Help -Name $args[0] -Full).parameters.parameter) {
                [pscustomobject]@{
                    Name = $p.name
                    Aliases = ((@(($p.aliases -split ',\s*') | Where-Object { $_ -and $_ -ne 'none' } | Sort-Object)) -join ', ')
                    Position = [string]$p.position
                    Description = (@($p.description | ForEach-Object Text) -join ' ')
                }
            }", name).ToDictionary(o => o.Properties["Name"].Value.ToString()!, o => o, StringComparer.Ordinal);
        var helpSets = host.Run(@"
            foreach ($item in (Get-Help -Name $args[0] -Full).syntax.syntaxItem) {
                (@($item.parameter | ForEach-Object name | Where-Object { $_ -notin 'WhatIf', 'Confirm' } | Sort-Object) -join ',')
            }", name).Select(o => o.ToString()).OrderBy(s => s, StringComparer.Ordinal).ToList();

        Assert.Equal(code.Keys.Order(StringComparer.Ordinal), help.Keys.Where(k => k is not ("WhatIf" or "Confirm")).Order(StringComparer.Ordinal));
        foreach (var (parameter, c) in code)
        {
            var h = help[parameter];
            Assert.True((h.Properties["Description"].Value?.ToString() ?? "").Trim().Length > 20, $"{name} -{parameter} has no description");
            Assert.True(Equals(c.Properties["Aliases"].Value?.ToString(), h.Properties["Aliases"].Value?.ToString()),
                $"{name} -{parameter}: the help's aliases '{h.Properties["Aliases"].Value}', the code's '{c.Properties["Aliases"].Value}'");
            Assert.True(Equals(c.Properties["Position"].Value?.ToString(), h.Properties["Position"].Value?.ToString()),
                $"{name} -{parameter}: the help's position {h.Properties["Position"].Value}, the code's {c.Properties["Position"].Value}");
        }
        // -WhatIf and -Confirm appear in the help exactly when the cmdlet supports ShouldProcess.
        var supportsShouldProcess = CmdletTypes[name].GetCustomAttribute<CmdletAttribute>()!.SupportsShouldProcess;
        Assert.Equal(supportsShouldProcess, help.ContainsKey("WhatIf"));
        Assert.Equal(supportsShouldProcess, help.ContainsKey("Confirm"));
        Assert.Equal(sets, helpSets);
    }

    // ---------------------------------------------------------------------------------------------------- outputs

    /// <summary>Capitalized words in the outputs section that are not property names.</summary>
    private static readonly HashSet<string> OutputProse = new(StringComparer.Ordinal)
    {
        "One", "EC2", "Format", "List", "The", "Copy", "AvSnapshot", "Wait", "New", "Pending", "NoWait", "Outpost",
    };

    [Theory]
    [MemberData(nameof(HelpAndSyntaxTests.Cmdlets), MemberType = typeof(HelpAndSyntaxTests))]
    public void OutputProperties_NamedInTheHelp_ExistOnTheOutputType(string name)
    {
        var output = CmdletTypes[name].GetCustomAttribute<OutputTypeAttribute>()!.Type.Single().Type!;
        var known = new HashSet<string>(StringComparer.Ordinal);
        void AddType(Type t)
        {
            foreach (var p in t.GetProperties())
            {
                if (!known.Add(p.Name)) continue;
                var element = p.PropertyType.IsGenericType ? p.PropertyType.GetGenericArguments().Last() : p.PropertyType;
                if (element.Namespace?.StartsWith("Avtomat", StringComparison.Ordinal) == true && element.IsClass) AddType(element);
            }
        }
        AddType(output);
        foreach (var e in new[] { typeof(SnapshotState), typeof(CopyKind) }) known.UnionWith(Enum.GetNames(e));

        var passages = Passages().Where(p => p.Where == $"{name} outputs").ToList();
        Assert.NotEmpty(passages);
        var candidates = passages.SelectMany(p => Regex.Matches(p.Text, @"(?<=[:,(]\s|\band\s|\)\.|\bsuch as\s)([A-Z][A-Za-z]+)\b").Select(m => m.Groups[1].Value)).ToList();
        Assert.True(candidates.Count >= 5, $"only {candidates.Count} property names found in {name}'s outputs");
        var unknown = candidates.Where(c => !known.Contains(c) && !OutputProse.Contains(c)).Distinct().ToList();
        Assert.True(unknown.Count == 0, $"{name}'s outputs name properties {output.Name} does not have: {string.Join(", ", unknown)}");
        // The output type the help names is the code's.
        var helpTypes = XDocument.Load(MamlPath).Root!.Elements(Command + "command")
            .Single(c => c.Element(Command + "details")!.Element(Command + "name")!.Value.Trim() == name)
            .Descendants(Command + "returnValue").Select(r => r.Descendants(Maml + "name").First().Value.Trim()).ToList();
        Assert.Equal([output.FullName!], helpTypes);
    }

    [Fact]
    public void TheHelpUsersGet_IsTheHelpInTheRepository()
    {
        var source = Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "src", "Avtomat.Ec2", "en-US");
        var laidOut = Directory.GetFiles(HelpDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Directory.GetFiles(source).Select(Path.GetFileName).Order(StringComparer.Ordinal), laidOut);
        foreach (var file in laidOut) Assert.Equal(File.ReadAllText(Path.Combine(source, file!)), File.ReadAllText(Path.Combine(HelpDirectory, file!)));
    }
}
