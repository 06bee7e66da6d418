using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Scheduling;

/// <summary>One KMS key a job's copies here ask for (a -KmsKeyId as given, or the destination's default EBS key),
/// resolved to its key ARN once for the job with KMS DescribeKey; the copies waiting for it go on when it is.</summary>
internal sealed class KeyResolution(string key, JobLink link, bool isDefault = false) : Due
{
    /// <summary>The key as given (a key id, key ARN, alias name or alias ARN), or as EC2 named the default key for EBS
    /// (GetEbsDefaultKmsKeyId; <see cref="Scheduler.DefaultEbsKey"/> when it could not be asked).</summary>
    public string Key { get; } = key;
    /// <summary>The destination's default KMS key for EBS (the key EC2 uses when a request names none).</summary>
    public bool IsDefault { get; } = isDefault;
    public JobLink Link { get; } = link;
    public bool InFlight { get; set; }
    public bool Done { get; set; }
    /// <summary>The key ARN (null when it could not be resolved).</summary>
    public string? Arn { get; set; }
    public List<CopyOp> Waiting { get; } = new();

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.ResolveKey(this, now);
}

/// <summary>EC2's EBS encryption settings in this account and region, as a job here needs them: whether encryption by
/// default is on (GetEbsEncryptionByDefault) and which key is the default KMS key for EBS (GetEbsDefaultKmsKeyId), each
/// asked at most once for the job, and only when a copy's expectation depends on it.</summary>
internal sealed class EbsSettings(JobLink link)
{
    public JobLink Link { get; } = link;
    public EbsQuery ByDefault { get; } = new(EbsQuery.EncryptionByDefault, link);
    public EbsQuery DefaultKey { get; } = new(EbsQuery.DefaultKmsKeyId, link);
    /// <summary>EBS encryption by default was said to be on (one verbose line per job and region).</summary>
    public bool SaidOn { get; set; }
}

/// <summary>One of the two EBS settings, asked once (paced under its own EC2 bucket); the copies waiting for it go on
/// when it is answered (or could not be).</summary>
internal sealed class EbsQuery(string action, JobLink link) : Due
{
    public const string EncryptionByDefault = "GetEbsEncryptionByDefault";
    public const string DefaultKmsKeyId = "GetEbsDefaultKmsKeyId";

    public string Action { get; } = action;
    public JobLink Link { get; } = link;
    public bool InFlight { get; set; }
    public bool Done { get; set; }
    /// <summary>GetEbsEncryptionByDefault's answer (null when it could not be asked).</summary>
    public bool? On { get; set; }
    /// <summary>GetEbsDefaultKmsKeyId's answer as EC2 gave it: a key ARN, or <c>alias/aws/ebs</c> for the AWS managed key
    /// (null when it could not be asked).</summary>
    public string? Key { get; set; }
    public List<CopyOp> Waiting { get; } = new();

    public override void OnDue(Scheduler scheduler, DateTimeOffset now) => scheduler.AskEbs(this, now);
}

internal sealed partial class Scheduler
{
    /// <summary>The AWS managed key for EBS: what CopySnapshot uses with Encrypted and no KmsKeyId unless the account chose
    /// another default ("If you do not specify a KMS key, the AWS managed key (aws/ebs) is used",
    /// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html). A predefined AWS alias DescribeKey resolves;
    /// GetEbsDefaultKmsKeyId names the AWS managed key by it (the AWS CLI's example get-ebs-default-kms-key-id: "KmsKeyId":
    /// "alias/aws/ebs"), a customer default key by its key ARN. Taken as the default key only when that cannot be asked.</summary>
    internal const string DefaultEbsKey = "alias/aws/ebs";

    /// <summary>Once the source is checked: how EC2 encrypts this request's copy. A -KmsKeyId is resolved once per job
    /// here (no EBS setting is asked). Without one: an unencrypted source asked for without encryption (and not for an
    /// Outpost) makes an unencrypted copy unless EBS encryption by default is on here (GetEbsEncryptionByDefault, asked
    /// once per job); an encrypted copy gets the default KMS key for EBS here (GetEbsDefaultKmsKeyId, asked once per job,
    /// then resolved to its key ARN like a given key). The op waits for what is not known yet, and is called again.</summary>
    private void ExpectKey(CopyOp op)
    {
        var request = op.Leader.Copy;
        if (op.CopyAgain && !op.DryRun)
        {
            // Copies again whatever exists: nothing to judge (twins are not looked for either).
            op.Expect = KeyExpectation.Unencrypted;
            return;
        }
        var link = op.Leader.Link!;
        if (request.KmsKeyId is { Length: > 0 } given)
        {
            Await(op, ResolutionOf(link, given, isDefault: false));
            return;
        }
        var ebs = link.Ebs ??= new EbsSettings(link);
        if (!EncryptedByRequest(op))
        {
            if (!ebs.ByDefault.Done)
            {
                ebs.ByDefault.Waiting.Add(op);
                AskEbs(ebs.ByDefault, Now);
                return;
            }
            if (ebs.ByDefault.On == false)
            {
                op.Expect = KeyExpectation.Unencrypted;
                return;
            }
        }
        if (!ebs.DefaultKey.Done)
        {
            ebs.DefaultKey.Waiting.Add(op);
            AskEbs(ebs.DefaultKey, Now);
            return;
        }
        Await(op, ResolutionOf(link, ebs.DefaultKey.Key ?? DefaultEbsKey, isDefault: true));
    }

    /// <summary>EC2 encrypts the copy whatever the account's settings: -Encrypted, an encrypted source, an Outpost.</summary>
    private static bool EncryptedByRequest(CopyOp op) =>
        op.Leader.Copy.Encrypted || op.Leader.Copy.DestinationOutpostArn is not null || op.SourceEncrypted;

    /// <summary>The job's resolution of <paramref name="key"/> here, started when new. A key ARN EC2 named as the default
    /// key needs no DescribeKey: it is what EC2 reports on the copies it encrypts with it.</summary>
    private KeyResolution ResolutionOf(JobLink link, string key, bool isDefault)
    {
        var name = isDefault ? "(default) " + key : key;
        if (link.Keys.TryGetValue(name, out var resolution)) return resolution;
        link.Keys[name] = resolution = new KeyResolution(key, link, isDefault);
        if (isDefault && IsKeyArn(key))
        {
            resolution.Done = true;
            resolution.Arn = key;
        }
        else ResolveKey(resolution, Now);
        return resolution;
    }

    private static bool IsKeyArn(string key) =>
        key.StartsWith("arn:", StringComparison.Ordinal) && key.Split(':') is { Length: 6 } parts && parts[2] == "kms" && parts[5].StartsWith("key/", StringComparison.Ordinal);

    private void Await(CopyOp op, KeyResolution resolution)
    {
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
        var expectation = resolution.Arn is not null ? KeyExpectation.Keys(arns, wanted)
            : request.KmsKeyId is { Length: > 0 } key ? KeyExpectation.Unresolved(key, arns, wanted)
            : KeyExpectation.DefaultUnknown(arns, wanted);
        if (request.KmsKeyId is { Length: > 0 } || EncryptedByRequest(op)) return expectation;
        // Asked without encryption: encrypted only by EBS encryption by default (on), or perhaps (not known).
        return op.Leader.Link?.Ebs?.ByDefault.On == true
            ? KeyExpectation.Keys(arns, wanted + " (EBS encryption by default is on)")
            : expectation.OrUnencrypted("an unencrypted copy, or one with " + wanted + " (whether EBS encryption by default is on is not known)");
    }

    /// <summary>Sends GetEbsEncryptionByDefault or GetEbsDefaultKmsKeyId (paced under its EC2 bucket), unless it was.</summary>
    internal void AskEbs(EbsQuery query, DateTimeOffset now)
    {
        if (query.Done || query.InFlight) return;
        if (!query.Link.Usable)
        {
            EbsAnswered(query, null, new InvalidOperationException("The job ended before it was asked."));
            return;
        }
        if (!Pace(query.Action, now, query)) return;
        query.InFlight = true;
        Launch(new EbsCall(query), query.Link);
    }

    private void EbsAnswered(EbsQuery query, object? response, Exception? error)
    {
        query.InFlight = false;
        query.Done = true;
        var job = query.Link.Job;
        var why = error is null ? $"{query.Action} answered without it" : FailurePolicy.Describe(error);
        if (query.Action == EbsQuery.EncryptionByDefault)
        {
            query.On = error is null ? (response as GetEbsEncryptionByDefaultResponse)?.EbsEncryptionByDefault : null;
            if (query.On is null)
                job.Verbose($"Whether EBS encryption by default is on in {Region} could not be read ({why}): an earlier copy of an unencrypted " +
                            "source asked for without -Encrypted is reused when EC2 says it is unencrypted or encrypted with the default KMS key " +
                            "for EBS. Allow ec2:GetEbsEncryptionByDefault to reuse only the copy EC2 would make now.");
            else if (query.On == true && query.Link.Ebs is { SaidOn: false } ebs)
            {
                ebs.SaidOn = true;
                job.Verbose($"EBS encryption by default is on in {Region}: EC2 encrypts every copy made there (with the default KMS key for " +
                            "EBS unless -KmsKeyId names another), so earlier copies are reused when EC2 says they are encrypted with that key.");
            }
        }
        else
        {
            query.Key = error is null && (response as GetEbsDefaultKmsKeyIdResponse)?.KmsKeyId is { Length: > 0 } key ? key : null;
            if (query.Key is null)
                job.Verbose($"The default KMS key for EBS in {Region} could not be read ({why}): it is taken to be the AWS managed key " +
                            $"({DefaultEbsKey}), so an earlier copy EC2 encrypted with a customer default key is copied again. " +
                            "Allow ec2:GetEbsDefaultKmsKeyId to compare it.");
        }
        var waiting = query.Waiting.ToList();
        query.Waiting.Clear();
        foreach (var op in waiting) Reexpect(op);
    }

    /// <summary>An op that waited for an EBS setting or a key: its expectation again, then the first look's copies judged by it.</summary>
    private void Reexpect(CopyOp op)
    {
        if (op.State != CopyState.Checking || op.Expect is not null) return;
        ExpectKey(op);
        if (op.Expect is null) return;
        Rematch(op);
        Decide(op);
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
            resolution.Link.Job.Verbose(resolution.IsDefault
                ? $"The default EBS key ({resolution.Key}) in {Region} could not be resolved to its key ARN ({why}): an earlier copy EC2 says is " +
                  $"encrypted is reused only when its {CopyTagNames.Encryption} tag says it was made with the default key. Allow kms:DescribeKey to compare key ARNs."
                : $"KMS key {resolution.Key} could not be resolved to its key ARN in {Region} ({why}): an earlier copy is reused only when EC2 " +
                  $"reports this key on it as given or by its key id, so a copy made with the same key under another name is copied again. " +
                  "Allow kms:DescribeKey on the key, or give its key ARN.");
        }
        var waiting = resolution.Waiting.ToList();
        resolution.Waiting.Clear();
        foreach (var op in waiting) Reexpect(op);
    }

    /// <summary>The first look's copies, judged once the expectation is known: the one to reuse or take over, and the
    /// twins of its token (a stopped run's duplicates).</summary>
    private void Rematch(CopyOp op)
    {
        if (op.Expect is null || op.Seen is null) return;
        DeleteTwinsOf(op, op.Earlier, Judge(op, op.Seen));
    }

    /// <summary>The one judgement of earlier copies (<paramref name="live"/>: pending and completed ones of the source
    /// here): those encrypted as EC2 makes this request's copy (<see cref="CopyOp.Expect"/>: none before it is known),
    /// returned; and <see cref="CopyOp.Earlier"/>, the one to reuse or take over (not its own copy, none with -CopyAgain).</summary>
    private static List<Snapshot> Judge(CopyOp op, IReadOnlyList<Snapshot> live)
    {
        var request = op.Leader.Copy;
        var matching = op.Expect is { } expect ? live.Where(c => CopyRules.Matches(c, request, expect)).ToList() : new List<Snapshot>();
        op.Earlier = op.CopyAgain ? null : CopyRules.Choose(matching.Where(s => s.SnapshotId != op.SnapshotId && CopyRules.TokenOf(s) != op.Token));
        return matching;
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

    /// <summary>GetEbsEncryptionByDefault or GetEbsDefaultKmsKeyId: Get* actions are EC2's non-mutating ones (their
    /// bucket, <see cref="Ec2Buckets"/>).</summary>
    private sealed class EbsCall(EbsQuery query) : Call
    {
        private readonly object _request = query.Action == EbsQuery.EncryptionByDefault
            ? new GetEbsEncryptionByDefaultRequest() : new GetEbsDefaultKmsKeyIdRequest();

        public override string Action => query.Action;
        public override object Request => _request;

        public override async Task<object?> SendAsync(IAmazonEC2 client, CancellationToken cancellationToken) => _request switch
        {
            GetEbsEncryptionByDefaultRequest r => await client.GetEbsEncryptionByDefaultAsync(r, cancellationToken).ConfigureAwait(false),
            GetEbsDefaultKmsKeyIdRequest r => await client.GetEbsDefaultKmsKeyIdAsync(r, cancellationToken).ConfigureAwait(false),
            _ => null,
        };

        public override void Done(Scheduler scheduler, object? response, Exception? error) => scheduler.EbsAnswered(query, response, error);
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
