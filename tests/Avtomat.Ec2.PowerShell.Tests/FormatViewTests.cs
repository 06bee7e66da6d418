using System.Text.RegularExpressions;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>The table and list views of every output type, rendered as a console or a redirected job output would
/// (Out-String -Width 80 and 120), for results of every state with the longest real values: 22-character snapshot ids,
/// 21-character volume ids, 14-character regions, durations of days, long error messages. Nothing may wrap or be cut.</summary>
public sealed class FormatViewTests
{
    public static readonly TheoryData<int> Widths = new() { 80, 120 };

    private static readonly DateTime T0 = new(2026, 11, 23, 10, 0, 0, DateTimeKind.Utc);
    private const string KmsKey = "arn:aws:kms:ap-southeast-5:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    private const string OutpostArn = "arn:aws:outposts:ap-southeast-5:123456789012:outpost/op-0123456789abcdef0";

    private static readonly string[] CopyTableColumns = ["SnapshotId", "SourceSnapshotId", "Region", "State", "Duration"];
    private static readonly string[] SnapshotTableColumns = ["SnapshotId", "VolumeId", "Region", "State", "Duration"];
    private static readonly string[] CopyListLabels =
    [
        "SnapshotId", "Region", "SourceSnapshotId", "SourceRegion", "State", "Reused", "Progress", "Encrypted", "KmsKeyId",
        "Description", "DestinationOutpostArn", "Tags", "StartTime", "CompletionTime", "Duration", "StatusMessage",
    ];
    private static readonly string[] SnapshotListLabels =
    [
        "SnapshotId", "Region", "VolumeId", "InstanceId", "DeviceName", "State", "Progress", "VolumeSize", "Encrypted", "KmsKeyId",
        "Description", "OutpostArn", "Tags", "StartTime", "CompletionTime", "Duration", "StatusMessage",
    ];

    /// <summary>A copy result and the cells its table row must show (null: blank), in column order.</summary>
    private sealed record CopyCase(SnapshotCopyResult Result, string?[] Row);
    private sealed record SnapshotCase(SnapshotResult Result, string?[] Row);

    private static SnapshotCopyResult Copy(int n, string? id, string region, SnapshotState state, int progress, TimeSpan? took,
        bool reused = false, string? message = null)
    {
        var source = $"snap-0fedcba98765432{n:00}";
        var result = new SnapshotCopyResult
        {
            SnapshotId = id, Region = region, SourceSnapshotId = source, SourceRegion = "us-gov-west-1", State = state,
            Progress = progress, Encrypted = true, KmsKeyId = KmsKey, Reused = reused, StatusMessage = message,
            Description = $"Copy of {source} from us-gov-west-1: nightly backup of the primary database volume",
            StartTime = id is null ? null : T0, CompletionTime = took is { } d ? T0 + d : null,
        };
        result.Tags["avtomat:source-snapshot-id"] = source;
        result.Tags["avtomat:source-region"] = "us-gov-west-1";
        result.Tags["avtomat:encryption"] = "kms:" + KmsKey;
        result.Tags["Name"] = "db-primary-data";
        return result;
    }

    private static SnapshotResult Snapshot(int n, string? id, string region, SnapshotState state, int progress, TimeSpan? took,
        string? message = null, string? volumeId = null)
    {
        var volume = volumeId ?? $"vol-0123456789abcde{n:00}";
        var result = new SnapshotResult
        {
            SnapshotId = id, Region = region, VolumeId = volume, InstanceId = "i-0123456789abcdef0", DeviceName = "/dev/xvdf",
            State = state, Progress = progress, VolumeSize = 16384, Encrypted = true, KmsKeyId = KmsKey, OutpostArn = OutpostArn,
            Description = $"Backup of {volume} (db-primary-data) on i-0123456789abcdef0", StatusMessage = message,
            StartTime = id is null ? null : T0, CompletionTime = took is { } d ? T0 + d : null,
        };
        result.Tags["avtomat:source-volume-id"] = volume;
        result.Tags["Name"] = "db-primary-data";
        result.Tags["Team"] = "platform-storage";
        return result;
    }

    private static List<CopyCase> CopyCases()
    {
        var longest = new TimeSpan(5, 3, 45, 6); // a best-effort cross-region copy of a large volume: 123 hours
        return
        [
            new(Copy(1, "snap-0123456789abcdef1", "ap-southeast-5", SnapshotState.Completed, 100, new TimeSpan(1, 2, 12, 34)),
                ["snap-0123456789abcdef1", "snap-0fedcba9876543201", "ap-southeast-5", "Completed", "26:12:34"]),
            new(Copy(2, "snap-0123456789abcdef2", "us-gov-west-1", SnapshotState.Completed, 100, longest),
                ["snap-0123456789abcdef2", "snap-0fedcba9876543202", "us-gov-west-1", "Completed", "123:45:06"]),
            new(Copy(3, "snap-0123456789abcdef3", "eu-central-2", SnapshotState.Completed, 100, TimeSpan.FromSeconds(75)),
                ["snap-0123456789abcdef3", "snap-0fedcba9876543203", "eu-central-2", "Completed", "00:01:15"]),
            new(Copy(4, "snap-0123456789abcdef4", "ap-northeast-3", SnapshotState.Completed, 100, null, reused: true),
                ["snap-0123456789abcdef4", "snap-0fedcba9876543204", "ap-northeast-3", "Completed", "reused"]),
            new(Copy(5, "snap-0123456789abcdef5", "ap-southeast-5", SnapshotState.Pending, 45, null),
                ["snap-0123456789abcdef5", "snap-0fedcba9876543205", "ap-southeast-5", "Pending", "45%"]),
            new(Copy(6, "snap-0123456789abcdef6", "ap-southeast-5", SnapshotState.TimedOut, 99, null,
                    message: "The wait ran out after 2:00:00 (-Timeout 7200); the copy keeps running in EC2."),
                ["snap-0123456789abcdef6", "snap-0fedcba9876543206", "ap-southeast-5", "TimedOut", "99%"]),
            new(Copy(7, "snap-0123456789abcdef7", "ap-southeast-5", SnapshotState.Failed, 12, new TimeSpan(0, 3, 7),
                    message: "Given key ID is not accessible: " + KmsKey),
                ["snap-0123456789abcdef7", "snap-0fedcba9876543207", "ap-southeast-5", "Failed", "00:03:07"]),
            new(Copy(8, null, "ap-southeast-5", SnapshotState.Failed, 0, null,
                    message: "UnauthorizedOperation: You are not authorized to perform this operation (ec2:CopySnapshot). Grant ec2:CopySnapshot on the source and destination snapshots."),
                [null, "snap-0fedcba9876543208", "ap-southeast-5", "Failed", null]),
            new(Copy(9, null, "ap-southeast-5", SnapshotState.Queued, 0, null, message: "Stopped before the copy started."),
                [null, "snap-0fedcba9876543209", "ap-southeast-5", "Queued", null]),
            new(Copy(10, null, "ap-southeast-5", SnapshotState.DryRun, 0, null, message: "Request would have succeeded, but DryRun flag is set."),
                [null, "snap-0fedcba9876543210", "ap-southeast-5", "DryRun", null]),
        ];
    }

    private static List<SnapshotCase> SnapshotCases() =>
    [
        new(Snapshot(1, "snap-0123456789abcdef1", "ap-southeast-5", SnapshotState.Completed, 100, new TimeSpan(1, 2, 12, 34)),
            ["snap-0123456789abcdef1", "vol-0123456789abcde01", "ap-southeast-5", "Completed", "26:12:34"]),
        new(Snapshot(2, "snap-0123456789abcdef2", "us-gov-west-1", SnapshotState.Completed, 100, TimeSpan.FromSeconds(75)),
            ["snap-0123456789abcdef2", "vol-0123456789abcde02", "us-gov-west-1", "Completed", "00:01:15"]),
        // Wait-AvSnapshot on a copy: EC2 reports the arbitrary vol-ffffffff.
        new(Snapshot(3, "snap-0123456789abcdef3", "ap-northeast-3", SnapshotState.Completed, 100, new TimeSpan(5, 3, 45, 6), volumeId: "vol-ffffffff"),
            ["snap-0123456789abcdef3", "vol-ffffffff", "ap-northeast-3", "Completed", "123:45:06"]),
        new(Snapshot(4, "snap-0123456789abcdef4", "ap-southeast-5", SnapshotState.Pending, 0, null),
            ["snap-0123456789abcdef4", "vol-0123456789abcde04", "ap-southeast-5", "Pending", "0%"]),
        new(Snapshot(5, "snap-0123456789abcdef5", "ap-southeast-5", SnapshotState.TimedOut, 45, null,
                message: "The wait ran out after 0:10:00 (-Timeout 600); the snapshot keeps running in EC2."),
            ["snap-0123456789abcdef5", "vol-0123456789abcde05", "ap-southeast-5", "TimedOut", "45%"]),
        new(Snapshot(6, "snap-0123456789abcdef6", "ap-southeast-5", SnapshotState.Failed, 3, new TimeSpan(0, 0, 42),
                message: "The snapshot ended in error: the volume's KMS key is disabled (" + KmsKey + ")."),
            ["snap-0123456789abcdef6", "vol-0123456789abcde06", "ap-southeast-5", "Failed", "00:00:42"]),
        new(Snapshot(7, null, "ap-southeast-5", SnapshotState.Failed, 0, null,
                message: "InvalidVolume.NotFound: The volume 'vol-0123456789abcde07' does not exist."),
            [null, "vol-0123456789abcde07", "ap-southeast-5", "Failed", null]),
        new(Snapshot(8, null, "ap-southeast-5", SnapshotState.Queued, 0, null, message: "Stopped while waiting for the volume's snapshot rules."),
            [null, "vol-0123456789abcde08", "ap-southeast-5", "Queued", null]),
        new(Snapshot(9, null, "ap-southeast-5", SnapshotState.DryRun, 0, null, message: "Request would have succeeded, but DryRun flag is set."),
            [null, "vol-0123456789abcde09", "ap-southeast-5", "DryRun", null]),
    ];

    [Theory]
    [MemberData(nameof(Widths))]
    public void CopyResultTable_FitsTheWidth_WithEveryValueWhole(int width)
    {
        var cases = CopyCases();
        using var host = new PowerShellHost();
        var text = Render(host, "$args[0] | Out-String -Width $args[1]", cases.Select(c => c.Result).ToArray(), width);
        AssertTable(text, width, CopyTableColumns, cases.Select(c => c.Row).ToList());
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SnapshotResultTable_FitsTheWidth_WithEveryValueWhole(int width)
    {
        var cases = SnapshotCases();
        using var host = new PowerShellHost();
        var text = Render(host, "$args[0] | Out-String -Width $args[1]", cases.Select(c => c.Result).ToArray(), width);
        AssertTable(text, width, SnapshotTableColumns, cases.Select(c => c.Row).ToList());
    }

    [Fact]
    public void TheTablesAreTheDefaultViews_AndFormatTableShowsTheSame()
    {
        using var host = new PowerShellHost();
        var copies = CopyCases().Select(c => c.Result).ToArray();
        Assert.Equal(Render(host, "$args[0] | Out-String -Width $args[1]", copies, 80),
            Render(host, "$args[0] | Format-Table | Out-String -Width $args[1]", copies, 80));
        var snapshots = SnapshotCases().Select(c => c.Result).ToArray();
        Assert.Equal(Render(host, "$args[0] | Out-String -Width $args[1]", snapshots, 80),
            Render(host, "$args[0] | Format-Table | Out-String -Width $args[1]", snapshots, 80));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void CopyResultList_ShowsEveryUsefulProperty_Whole(int width)
    {
        var cases = CopyCases();
        using var host = new PowerShellHost();
        var text = Render(host, "$args[0] | Format-List | Out-String -Width $args[1]", cases.Select(c => c.Result).ToArray(), width);
        var blocks = ListBlocks(text, width, CopyListLabels, cases.Count);
        for (var i = 0; i < cases.Count; i++)
        {
            var r = cases[i].Result;
            var expected = new Dictionary<string, string>
            {
                ["SnapshotId"] = r.SnapshotId ?? "", ["Region"] = r.Region, ["SourceSnapshotId"] = r.SourceSnapshotId,
                ["SourceRegion"] = r.SourceRegion, ["State"] = r.State.ToString(), ["Reused"] = r.Reused ? "True" : "False",
                ["Progress"] = $"{r.Progress}%", ["Encrypted"] = "True", ["KmsKeyId"] = KmsKey, ["Description"] = r.Description!,
                ["DestinationOutpostArn"] = "", ["Tags"] = string.Concat(r.Tags.Select(t => $"{t.Key}={t.Value}")),
                ["Duration"] = r.Duration is { } d ? DurationText(d) : "", ["StatusMessage"] = r.StatusMessage ?? "",
            };
            AssertListBlock(blocks[i], expected, width - CopyListLabels.Max(l => l.Length) - 3);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SnapshotResultList_ShowsEveryUsefulProperty_Whole(int width)
    {
        var cases = SnapshotCases();
        using var host = new PowerShellHost();
        var text = Render(host, "$args[0] | Format-List | Out-String -Width $args[1]", cases.Select(c => c.Result).ToArray(), width);
        var blocks = ListBlocks(text, width, SnapshotListLabels, cases.Count);
        for (var i = 0; i < cases.Count; i++)
        {
            var r = cases[i].Result;
            var expected = new Dictionary<string, string>
            {
                ["SnapshotId"] = r.SnapshotId ?? "", ["Region"] = r.Region, ["VolumeId"] = r.VolumeId!, ["InstanceId"] = r.InstanceId!,
                ["DeviceName"] = r.DeviceName!, ["State"] = r.State.ToString(), ["Progress"] = $"{r.Progress}%", ["VolumeSize"] = "16384",
                ["Encrypted"] = "True", ["KmsKeyId"] = KmsKey, ["Description"] = r.Description!, ["OutpostArn"] = OutpostArn,
                ["Tags"] = string.Concat(r.Tags.Select(t => $"{t.Key}={t.Value}")),
                ["Duration"] = r.Duration is { } d ? DurationText(d) : "", ["StatusMessage"] = r.StatusMessage ?? "",
            };
            AssertListBlock(blocks[i], expected, width - SnapshotListLabels.Max(l => l.Length) - 3);
        }
    }

    [Fact]
    public void ListDuration_IsWrittenAsTheModulesMessagesWriteIt()
    {
        foreach (var d in new[] { TimeSpan.FromSeconds(75), new TimeSpan(1, 2, 12, 34), new TimeSpan(5, 3, 45, 6) })
        {
            Assert.Equal(Engine.DurationText.Of(d), DurationText(d));
        }
        using var host = new PowerShellHost();
        var result = Copy(1, "snap-0123456789abcdef1", "us-west-2", SnapshotState.Completed, 100, new TimeSpan(1, 2, 0, 0));
        var text = Render(host, "$args[0] | Format-List | Out-String -Width $args[1]", [result], 80);
        Assert.Matches(@"\nDuration +: 1d 02:00:00\n", text);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static string DurationText(TimeSpan d) => d.Days > 0 ? $"{d.Days}d {d:hh\\:mm\\:ss}" : $"{d:hh\\:mm\\:ss}";

    private static string Render(PowerShellHost host, string script, object[] items, int width)
    {
        var text = string.Concat(host.Run(script, items, width).Select(o => o.ToString()));
        return Regex.Replace(text, "\u001b\\[[0-9;]*m", "").Replace("\r", "", StringComparison.Ordinal);
    }

    private static void AssertNothingCut(string text, int width)
    {
        Assert.DoesNotContain("\u2026", text, StringComparison.Ordinal);
        Assert.DoesNotContain("...", text, StringComparison.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            Assert.True(line.Length <= width, $"a line of {line.Length} characters at width {width}:\n{line}\n\n{text}");
        }
    }

    /// <summary>The header names the columns in order; each row is one line whose cells sit under their headers (left
    /// aligned, the last one right aligned), whole, and blank where the row has no value.</summary>
    private static void AssertTable(string text, int width, string[] columns, List<string?[]> rows)
    {
        AssertNothingCut(text, width);
        var lines = text.Split('\n').Where(l => l.Trim().Length > 0).ToList();
        Assert.True(lines.Count == rows.Count + 2, $"expected a header, a rule and {rows.Count} rows, one line each:\n{text}");

        var header = lines[0];
        var starts = Regex.Matches(header, @"\S+").Select(m => (m.Value, m.Index)).ToList();
        Assert.Equal(columns, starts.Select(s => s.Value));
        Assert.Equal(columns.Length, Regex.Matches(lines[1], "-+").Count);
        var end = header.TrimEnd().Length; // the right-aligned last column ends here
        Assert.True(end <= 80, $"the table is {end} characters wide:\n{text}");

        for (var r = 0; r < rows.Count; r++)
        {
            var line = lines[r + 2];
            var cells = rows[r];
            for (var c = 0; c < columns.Length - 1; c++)
            {
                var from = starts[c].Index;
                var to = Math.Min(starts[c + 1].Index - 1, line.Length);
                var cell = line.Length > from ? line.Substring(from, to - from) : "";
                var value = cells[c];
                Assert.True(value is null ? cell.Trim().Length == 0 : cell.StartsWith(value, StringComparison.Ordinal) && cell.Trim() == value,
                    $"column {columns[c]} of row {r} should be '{value}' from {from}: '{cell}'\n{text}");
            }
            if (cells[^1] is { } lastValue)
            {
                Assert.True(line.Length >= end && line.Substring(0, end).EndsWith(" " + lastValue, StringComparison.Ordinal),
                    $"column {columns[^1]} of row {r} should end '{lastValue}' at {end}: '{line}'\n{text}");
            }
            // Every value whole, in order, and nothing else on the line (so a blank cell is blank).
            Assert.Equal(cells.Where(v => v is not null), Regex.Matches(line, @"\S+").Select(m => m.Value));
        }
    }

    /// <summary>Splits Format-List output into one block per object: label → value, continuation lines (wrapped long
    /// values, one tag a line) joined on; asserts the labels and their order.</summary>
    private static List<Dictionary<string, string>> ListBlocks(string text, int width, string[] labels, int count)
    {
        AssertNothingCut(text, width);
        var blocks = new List<Dictionary<string, string>>();
        var pad = labels.Max(l => l.Length);
        var indent = new string(' ', pad + 3);
        Dictionary<string, string>? block = null;
        List<string>? order = null;
        string? current = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                if (block is not null)
                {
                    Assert.Equal(labels, order!);
                    blocks.Add(block);
                }
                block = null;
                continue;
            }
            if (line.StartsWith(indent, StringComparison.Ordinal))
            {
                Assert.NotNull(current);
                block![current!] += line.Substring(indent.Length).TrimEnd();
                continue;
            }
            var m = Regex.Match(line, @"^(\S+) +: ?(.*)$");
            Assert.True(m.Success && line.IndexOf(" : ", StringComparison.Ordinal) == pad, $"not a list line aligned at {pad}: '{line}'\n{text}");
            if (block is null)
            {
                block = new Dictionary<string, string>();
                order = new List<string>();
            }
            current = m.Groups[1].Value;
            order!.Add(current);
            block[current] = m.Groups[2].Value.TrimEnd();
        }
        if (block is not null)
        {
            Assert.Equal(labels, order!);
            blocks.Add(block);
        }
        Assert.Equal(count, blocks.Count);
        return blocks;
    }

    /// <param name="room">Characters a value has on one line: shorter values (ids, regions, states, durations) must show
    /// exactly as they are, unwrapped.</param>
    private static void AssertListBlock(Dictionary<string, string> block, Dictionary<string, string> expected, int room)
    {
        foreach (var (label, value) in expected)
        {
            Assert.True(block.TryGetValue(label, out var shown), $"no {label}");
            if (value.Length <= room) Assert.Equal(value, shown);
            // Long values wrap onto indented lines (a word wrap may drop the space it broke at): compare without spaces.
            Assert.Equal(Regex.Replace(value, @"\s", ""), Regex.Replace(shown!, @"\s", ""));
        }
    }
}
