using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>How an earlier copy a request reused differs from what the request asks: its description (EC2 cannot change
/// it), and the requested tags (-Tag) it lacks or has with another value (added with CreateTags).</summary>
internal sealed class ReuseDifference(string copyId, string sourceId, string? hasDescription, string? wantedDescription,
    IReadOnlyList<(string Key, string? Had, string Wanted)> tags)
{
    public string CopyId { get; } = copyId;
    public string SourceId { get; } = sourceId;
    /// <summary>Set when the description differs.</summary>
    public string? HasDescription { get; } = hasDescription;
    public string? WantedDescription { get; } = wantedDescription;
    public bool DescriptionDiffers => WantedDescription is not null;
    public IReadOnlyList<(string Key, string? Had, string Wanted)> Tags { get; } = tags;
    /// <summary>Why CreateTags did not add them (null: added, or none to add).</summary>
    public string? TagsFailed { get; set; }
}

/// <summary>Requested tags for reused copies of one job here, the same tags for each: one CreateTags call (EC2 takes up to
/// 1,000 resource ids and recommends smaller batches: at most 200 here), paced like any call here.</summary>
internal sealed class TagBatch(JobLink link, string key, IReadOnlyDictionary<string, string> tags) : Due
{
    public const int MaxResources = 200;
    /// <summary>The tag set, as one string (the batch's key among the job's open batches).</summary>
    public string Key { get; } = key;
    public JobLink Link { get; } = link;
    public IReadOnlyDictionary<string, string> Tags { get; } = tags;
    public List<string> Ids { get; } = new();
    public bool Sent { get; set; }
    public int Retries { get; set; }

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.SendTags(this, now);
}

internal sealed partial class Scheduler
{
    /// <summary>Reused copies shown in the differences warning, at most (the rest are counted).</summary>
    private const int DifferencesListed = 5;
    /// <summary>A description in the warning, at most (longer ones are cut with an ellipsis).</summary>
    private const int DescriptionShown = 60;

    /// <summary>Tag batches still collecting ids, by job and tag set.</summary>
    private readonly Dictionary<(JobLink, string), TagBatch> _tagBatches = new();

    /// <summary>A request reused <paramref name="copy"/>: what differs from its description and requested tags is noted for
    /// the job's warning (written when the job ends here), and the requested tags it lacks are added (CreateTags). The
    /// result shows the tags as they will be.</summary>
    private void NoteDifferences(CopyItem item, CopyOp op, Snapshot copy)
    {
        if (item.Job.DryRun || item.Link is not { } link) return;
        var request = item.Copy;
        var wanted = DescriptionTemplate.Expand(request.DescriptionTemplate, request.SourceSnapshotId, request.SourceRegion, op.Source?.Description);
        var has = (copy.Tags ?? new List<Tag>()).Where(t => t.Key is not null).GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.First().Value ?? "", StringComparer.Ordinal);
        var tags = request.Tags
            .Where(t => Array.IndexOf(CopyTagNames.All, t.Key) < 0 && (!has.TryGetValue(t.Key, out var value) || value != (t.Value ?? "")))
            .Select(t => (t.Key, Had: has.TryGetValue(t.Key, out var old) ? old : null, Wanted: t.Value ?? ""))
            .OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var descriptionDiffers = (copy.Description ?? "") != wanted;
        if (!descriptionDiffers && tags.Count == 0) return;
        link.Differences.Add(new ReuseDifference(copy.SnapshotId, request.SourceSnapshotId, descriptionDiffers ? copy.Description ?? "" : null,
            descriptionDiffers ? wanted : null, tags));
        if (tags.Count == 0) return;
        lock (item.Gate)
            foreach (var (key, _, value) in tags) item.Result.Tags[key] = value;
        var set = tags.ToDictionary(t => t.Key, t => t.Wanted, StringComparer.Ordinal);
        var setKey = string.Join("\n", set.Select(t => t.Key + "=" + t.Value));
        if (!_tagBatches.TryGetValue((link, setKey), out var batch) || batch.Ids.Count >= TagBatch.MaxResources)
        {
            _tagBatches[(link, setKey)] = batch = new TagBatch(link, setKey, set);
            link.Tagging++;
            // Copies reused together (one answer) go in one call.
            Agenda.At(batch, Now + CollectDelay);
        }
        if (!batch.Ids.Contains(copy.SnapshotId)) batch.Ids.Add(copy.SnapshotId);
    }

    internal void SendTags(TagBatch batch, DateTimeOffset now)
    {
        // Sent (or ended): later copies start a batch of their own.
        if (_tagBatches.TryGetValue((batch.Link, batch.Key), out var open) && open == batch) _tagBatches.Remove((batch.Link, batch.Key));
        if (!batch.Link.Usable || batch.Link.Stopped)
        {
            TagsDone(batch, batch.Link.Stopped ? "the command was stopped first" : "the command ended first");
            return;
        }
        if (!Pace("CreateTags", now, batch)) return;
        batch.Sent = true;
        Launch(new TagCall(batch, new CreateTagsRequest
        {
            Resources = batch.Ids.ToList(),
            Tags = batch.Tags.Select(t => new Tag(t.Key, t.Value)).ToList(),
        }), batch.Link);
    }

    private void TagsAnswered(TagBatch batch, Exception? error)
    {
        if (error is null)
        {
            TagsDone(batch, null);
            return;
        }
        var job = batch.Link.Job;
        if (FailurePolicy.Decide(error, "CreateTags") == FailureAction.Retry && batch.Retries < job.MaxRetries + 3 && batch.Link.Usable && !batch.Link.Stopped)
        {
            if (FailurePolicy.IsThrottle(error)) job.Counters.Throttled();
            job.Counters.Retry();
            Agenda.At(batch, Now + Backoff.Delay(batch.Retries++, ThrottleBaseDelay, MaxThrottleDelay));
            return;
        }
        TagsDone(batch, $"CreateTags: {FailurePolicy.Describe(error)}");
    }

    private void TagsDone(TagBatch batch, string? failed)
    {
        if (failed is not null)
            foreach (var difference in batch.Link.Differences.Where(d => batch.Ids.Contains(d.CopyId)))
                difference.TagsFailed ??= failed;
        batch.Link.Tagging--;
        TryEndClose(batch.Link);
    }

    /// <summary>One warning per job and region for every reused copy that differs from this run's request (written when the
    /// job ends here): how many, what differs, what was done, and the first few copies by name.</summary>
    private void WarnDifferences(JobLink link)
    {
        var all = link.Differences;
        if (all.Count == 0) return;
        if (link.Tagging > 0)
            foreach (var difference in all.Where(d => d.Tags.Count > 0))
                difference.TagsFailed ??= "the command ended before CreateTags answered; they may not have been added";
        var described = all.Count(d => d.DescriptionDiffers);
        var tagged = all.Where(d => d.Tags.Count > 0).ToList();
        var failed = tagged.Where(d => d.TagsFailed is not null).ToList();
        var parts = new List<string>();
        if (described > 0)
            parts.Add($"{described} in description (EC2 cannot change a snapshot's description: it stays; -CopyAgain makes new copies with this run's)");
        if (tagged.Count > 0)
            parts.Add($"{tagged.Count} in the requested tags ({(failed.Count == 0 ? "added now with CreateTags" : failed.Count == tagged.Count
                ? $"not added: {failed[0].TagsFailed}"
                : $"added now with CreateTags, except on {failed.Count}: {failed[0].TagsFailed}")})");
        var listed = all.Take(DifferencesListed).Select(d =>
        {
            var what = new List<string>();
            if (d.DescriptionDiffers) what.Add($"description '{Cut(d.HasDescription!)}', this run asks '{Cut(d.WantedDescription!)}'");
            if (d.Tags.Count > 0) what.Add("tags " + string.Join(", ", d.Tags.Select(t => $"{t.Key}={(t.Had is null ? "(none)" : Cut(t.Had))} → {Cut(t.Wanted)}")));
            return $"{d.CopyId} (copy of {d.SourceId}): {string.Join("; ", what)}";
        });
        var more = all.Count > DifferencesListed ? $"; and {all.Count - DifferencesListed} more" : "";
        link.Job.Warn($"{all.Count} reused cop{(all.Count == 1 ? "y" : "ies")} in {Region} differ{(all.Count == 1 ? "s" : "")} from this run's request: " +
                      $"{string.Join("; ", parts)}. {string.Join(". ", listed)}{more}.");
    }

    private static string Cut(string text) => text.Length <= DescriptionShown ? text : text.Substring(0, DescriptionShown - 1) + "…";

    private sealed class TagCall(TagBatch batch, CreateTagsRequest request) : Call
    {
        public override string Action => "CreateTags";
        public override object Request => request;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) =>
            await client.CreateTagsAsync(request, cancellationToken).ConfigureAwait(false);

        public override void Done(Scheduler scheduler, object? response, Exception? error) => scheduler.TagsAnswered(batch, error);
    }
}
