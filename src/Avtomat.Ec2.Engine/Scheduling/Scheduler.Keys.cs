using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>One KMS key a job's copies here ask for (a -KmsKeyId as given, or the destination's default EBS key),
/// resolved to its key ARN once for the job with KMS DescribeKey; the copies waiting for it go on when it is.</summary>
internal sealed class KeyResolution(string key, JobLink link) : Due
{
    /// <summary>The key as given (a key id, key ARN, alias name or alias ARN); <see cref="Scheduler.DefaultEbsKey"/> for the default key.</summary>
    public string Key { get; } = key;
    public JobLink Link { get; } = link;
    public bool InFlight { get; set; }
    public bool Done { get; set; }
    /// <summary>The key ARN (null when it could not be resolved).</summary>
    public string? Arn { get; set; }
    public List<CopyOp> Waiting { get; } = new();

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.ResolveKey(this, now);
}

internal sealed partial class Scheduler
{
    /// <summary>The AWS managed key for EBS: what CopySnapshot uses with Encrypted and no KmsKeyId unless the account chose
    /// another default ("If you do not specify a KMS key, the AWS managed key (aws/ebs) is used",
    /// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html). A predefined AWS alias DescribeKey resolves.</summary>
    internal const string DefaultEbsKey = "alias/aws/ebs";

    /// <summary>Once the source is checked: how EC2 encrypts this request's copy. Unencrypted needs no call; a key (given, or
    /// the default one) is resolved once per job here, and the op waits for it.</summary>
    private void ExpectKey(CopyOp op)
    {
        var request = op.Leader.Copy;
        if (op.CopyAgain && !op.DryRun)
        {
            // Copies again whatever exists: nothing to judge (twins are not looked for either).
            op.Expect = KeyExpectation.Unencrypted;
            return;
        }
        var encrypted = request.KmsKeyId is { Length: > 0 } || request.Encrypted || request.DestinationOutpostArn is not null || op.SourceEncrypted;
        if (!encrypted)
        {
            op.Expect = KeyExpectation.Unencrypted;
            return;
        }
        var key = request.KmsKeyId is { Length: > 0 } given ? given : DefaultEbsKey;
        var link = op.Leader.Link!;
        if (!link.Keys.TryGetValue(key, out var resolution))
        {
            link.Keys[key] = resolution = new KeyResolution(key, link);
            ResolveKey(resolution, Now);
        }
        if (resolution.Done) op.Expect = ExpectationOf(op, resolution);
        else resolution.Waiting.Add(op);
    }

    /// <summary>What the op's copy is expected to be encrypted with, once its key is resolved (or could not be).</summary>
    private KeyExpectation ExpectationOf(CopyOp op, KeyResolution resolution)
    {
        var request = op.Leader.Copy;
        var arns = new List<string>(2);
        if (resolution.Arn is { } arn) arns.Add(arn);
        // Without a KmsKeyId a same-region copy of an encrypted source may keep the source's key.
        if (request.KmsKeyId is not { Length: > 0 } && op.SourceEncrypted && op.SourceRegion == Region && op.Source?.KmsKeyId is { Length: > 0 } sourceKey)
            arns.Add(sourceKey);
        var wanted = request.KmsKeyId is { Length: > 0 } given
            ? $"encryption with the KMS key {given}{(resolution.Arn is { } a && a != given ? $" ({a})" : "")}"
            : $"encryption with the default EBS key{(resolution.Arn is { } d ? $" ({d})" : "")}";
        if (resolution.Arn is not null) return KeyExpectation.Keys(arns, wanted);
        return request.KmsKeyId is { Length: > 0 } key ? KeyExpectation.Unresolved(key, arns, wanted) : KeyExpectation.DefaultUnknown(arns, wanted);
    }

    /// <summary>Sends DescribeKey (paced as any call here; its own bucket), unless one is on its way.</summary>
    internal void ResolveKey(KeyResolution resolution, DateTimeOffset now)
    {
        if (resolution.Done || resolution.InFlight) return;
        if (!resolution.Link.Usable)
        {
            KeyResolved(resolution, null, new InvalidOperationException("The job ended before the key was resolved."));
            return;
        }
        if (!Pace(DescribeKeyCall.Bucket, now, resolution)) return;
        resolution.InFlight = true;
        Launch(new DescribeKeyCall(resolution), resolution.Link);
    }

    private void KeyResolved(KeyResolution resolution, DescribeKeyResponse? response, Exception? error)
    {
        resolution.InFlight = false;
        resolution.Done = true;
        resolution.Arn = error is null ? response?.KeyMetadata?.Arn : null;
        if (resolution.Arn is null)
        {
            var why = error is null ? "DescribeKey answered without a key ARN" : FailurePolicy.Describe(error);
            resolution.Link.Job.Verbose(resolution.Key == DefaultEbsKey
                ? $"The default EBS key ({DefaultEbsKey}) in {Region} could not be resolved to its key ARN ({why}): an earlier copy EC2 says is " +
                  $"encrypted is reused only when its {CopyTagNames.Encryption} tag says it was made with the default key. Allow kms:DescribeKey to compare key ARNs."
                : $"KMS key {resolution.Key} could not be resolved to its key ARN in {Region} ({why}): an earlier copy is reused only when EC2 " +
                  $"reports this key on it as given or by its key id, so a copy made with the same key under another name is copied again. " +
                  "Allow kms:DescribeKey on the key, or give its key ARN.");
        }
        foreach (var op in resolution.Waiting)
        {
            if (op.State != CopyState.Checking || op.Expect is not null) continue;
            op.Expect = ExpectationOf(op, resolution);
            Rematch(op);
            Decide(op);
        }
        resolution.Waiting.Clear();
    }

    /// <summary>The first look's copies, judged once the expectation is known: the one to reuse or take over, and the
    /// twins of its token (a stopped run's duplicates).</summary>
    private void Rematch(CopyOp op)
    {
        if (op.Expect is null || op.Seen is null) return;
        var request = op.Leader.Copy;
        var matching = op.Seen.Where(c => CopyRules.Matches(c, request, op.Expect)).ToList();
        op.Earlier = op.CopyAgain ? null : CopyRules.Choose(matching.Where(s => s.SnapshotId != op.SnapshotId && CopyRules.TokenOf(s) != op.Token));
        DeleteTwinsOf(op, op.Earlier, matching);
    }

    /// <summary>Says why completed copies found here are not reused (EC2's encryption differs from what this run asks).</summary>
    private void SayWhyNotReused(CopyOp op)
    {
        if (op.Seen is null || op.Expect is null || op.CopyAgain || op.Plan) return;
        var request = op.Leader.Copy;
        var other = op.Seen.Where(c => c.State?.Value == "completed" && !CopyRules.Matches(c, request, op.Expect))
            .OrderByDescending(c => c.StartTime).ToList();
        if (other.Count == 0) return;
        var newest = other[0];
        var more = other.Count > 1 ? $" ({other.Count - 1} more like it)" : "";
        foreach (var job in op.Items.Select(i => i.Job).Distinct())
            job.Verbose($"{request.SourceSnapshotId} ({request.SourceRegion}): the earlier copy {newest.SnapshotId} in {Region}{more} is not reused: EC2 says it is " +
                        $"{KeyExpectation.Describe(newest)}{(CopyRules.Same(newest.OutpostArn, request.DestinationOutpostArn) ? "" : $" on {newest.OutpostArn ?? "no Outpost"}")}, " +
                        $"and this run asks for {op.Expect.Wanted}{(request.DestinationOutpostArn is { } outpost ? $" on {outpost}" : "")}; copying again.", op.Leader.Request);
    }

    private sealed class DescribeKeyCall(KeyResolution resolution) : Call
    {
        /// <summary>KMS's request quota is not EC2's: its own client-side bucket (an action not in EC2's table: the smallest
        /// size there is), named so the job's call summary says which service it went to.</summary>
        public const string Bucket = "kms:DescribeKey";

        private readonly DescribeKeyRequest _request = new() { KeyId = resolution.Key };

        public override string Action => Bucket;
        public override object Request => _request;

        public override Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) =>
            throw new NotSupportedException("DescribeKey is a KMS call.");

        public override async Task<object?> SendAsync(IEc2ClientSource clients, string region, CancellationToken cancellationToken)
        {
            if (clients is not IKmsClientSource kms)
                throw new NotSupportedException("these credentials come without a KMS client");
            return await kms.Kms(region).DescribeKeyAsync(_request, cancellationToken).ConfigureAwait(false);
        }

        public override void Done(Scheduler scheduler, object? response, Exception? error) =>
            scheduler.KeyResolved(resolution, response as DescribeKeyResponse, error);
    }
}
