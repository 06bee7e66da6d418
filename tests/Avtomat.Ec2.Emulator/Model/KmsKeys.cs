using System.Security.Cryptography;
using System.Text;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>KMS key identities without a KMS: any id, alias or ARN resolves to a deterministic key ARN. Who may use a key
/// is <see cref="KmsRegistry"/>'s.</summary>
internal static class KmsKeys
{
    public const string DefaultEbsAlias = "alias/aws/ebs";

    /// <summary>The AWS managed EBS key (alias/aws/ebs) of an account and region.</summary>
    public static string DefaultKeyArn(string account, string region) =>
        $"arn:aws:kms:{region}:{account}:key/{DeterministicGuid($"{account}/{region}/{DefaultEbsAlias}")}";

    /// <summary>Key ARN for a key id, key ARN, alias name or alias ARN, as seen from <paramref name="region"/>.</summary>
    public static string ResolveArn(string keyId, string account, string region)
    {
        if (keyId.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = keyId.Split(':', 6);
            if (parts.Length == 6 && parts[5].StartsWith("alias/", StringComparison.Ordinal))
                return AliasKeyArn(parts[5], parts[4], parts[3]);
            return keyId;
        }
        if (keyId.StartsWith("alias/", StringComparison.Ordinal)) return AliasKeyArn(keyId, account, region);
        return $"arn:aws:kms:{region}:{account}:key/{keyId}";
    }

    private static string AliasKeyArn(string alias, string account, string region) =>
        alias == DefaultEbsAlias
            ? DefaultKeyArn(account, region)
            : $"arn:aws:kms:{region}:{account}:key/{DeterministicGuid($"{account}/{region}/{alias}")}";

    public static bool IsWellFormed(string keyId) =>
        keyId.StartsWith("arn:aws:kms:", StringComparison.Ordinal) && keyId.Split(':').Length == 6
        || keyId.StartsWith("alias/", StringComparison.Ordinal) && keyId.Length > 6
        || Guid.TryParse(keyId, out _) || keyId.StartsWith("mrk-", StringComparison.Ordinal);

    /// <summary>Account of a key ARN.</summary>
    public static string? AccountOf(string keyArn)
    {
        var parts = keyArn.Split(':');
        return parts.Length >= 5 ? parts[4] : null;
    }

    /// <summary>True for the AWS managed EBS key (alias/aws/ebs) of any account and region.</summary>
    public static bool IsAwsManaged(string keyArn) =>
        AccountOf(keyArn) is { } account && RegionOf(keyArn) is { } region && keyArn == DefaultKeyArn(account, region);

    /// <summary>The key id a key created with <paramref name="alias"/> gets: the one <see cref="ResolveArn"/> gives the
    /// alias, so a key referred to by its alias before it was created is the same key afterwards.</summary>
    public static string AliasKeyId(string alias, string account, string region) =>
        DeterministicGuid($"{account}/{region}/{alias}").ToString();

    /// <summary>Region of a key ARN.</summary>
    public static string? RegionOf(string keyArn)
    {
        var parts = keyArn.Split(':');
        return parts.Length >= 4 ? parts[3] : null;
    }

    /// <summary>Every name a key is known by (raw, key ARN, key id, alias, alias ARN), for matching the inaccessible list.</summary>
    public static HashSet<string> Identities(string keyId, string account, string region)
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { keyId };
        var arn = ResolveArn(keyId, account, region);
        set.Add(arn);
        var slash = arn.IndexOf(":key/", StringComparison.Ordinal);
        if (slash >= 0) set.Add(arn[(slash + 5)..]);
        if (keyId.StartsWith("alias/", StringComparison.Ordinal)) set.Add($"arn:aws:kms:{region}:{account}:{keyId}");
        if (keyId.StartsWith("arn:", StringComparison.Ordinal) && keyId.Contains(":alias/", StringComparison.Ordinal))
            set.Add(keyId[(keyId.IndexOf(":alias/", StringComparison.Ordinal) + 1)..]);
        return set;
    }

    private static Guid DeterministicGuid(string text) => new(MD5.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>A KMS key the emulator knows by name: a customer managed key created through the control API, or an
/// account-region's AWS managed EBS key.</summary>
internal sealed class KmsKeyRecord
{
    public required string KeyId { get; init; }
    public required string Arn { get; init; }
    public required string Account { get; init; }
    public required string Region { get; init; }
    public string? Alias { get; init; }
    /// <summary><c>CUSTOMER</c> or <c>AWS</c> (KMS's KeyManager).</summary>
    public required string Manager { get; init; }
    /// <summary>Other accounts the key's policy lets use it (their IAM policies are assumed to allow it).</summary>
    public SortedSet<string> GrantedAccounts { get; } = new(StringComparer.Ordinal);
}

/// <summary>KMS keys with an owner account: who may use which key. Under <see cref="EmulatorState.Gate"/>.
/// <para>A key of the caller's own account is usable, whether or not it was created here (any id, alias or ARN names a
/// key: the emulator's behaviour before keys had owners). A key of another account is usable only when it is a customer
/// managed key created through <c>POST /_emulator/kms/keys</c> and granted to the caller: "Your key policy must give the
/// external account (or users and roles in the external account) permission to use the KMS key", and the caller's IAM
/// policy must too, which the emulator assumes
/// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html). An AWS managed key
/// is never usable by another account: only principals of the account it is in may use it, and resources encrypted with
/// it cannot be shared with other accounts (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html, "AWS
/// managed keys").</para></summary>
internal sealed class KmsRegistry
{
    public const string Customer = "CUSTOMER";
    public const string Aws = "AWS";
    private readonly Dictionary<string, KmsKeyRecord> _byArn = new(StringComparer.Ordinal);
    private readonly List<KmsKeyRecord> _created = new();

    /// <summary>Creates a customer managed key in <paramref name="account"/> and <paramref name="region"/>, optionally
    /// with an alias (then its key id is the one the alias already resolved to).</summary>
    public KmsKeyRecord Create(string account, string region, string? alias)
    {
        if (alias is not null)
        {
            if (!alias.StartsWith("alias/", StringComparison.Ordinal) || alias.Length <= 6)
                throw new ArgumentException($"An alias starts with 'alias/': '{alias}'.");
            // KMS CreateAlias: the alias/aws/ prefix is reserved for AWS managed keys
            // (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html).
            if (alias.StartsWith("alias/aws/", StringComparison.Ordinal))
                throw new ArgumentException($"The alias prefix alias/aws/ is reserved for AWS managed keys: '{alias}'.");
        }
        // Without an alias: a key id as deterministic as the emulator's other ids, from the creation count (never an alias's).
        var keyId = KmsKeys.AliasKeyId(alias ?? $"key#{_created.Count + 1}", account, region);
        var arn = $"arn:aws:kms:{region}:{account}:key/{keyId}";
        if (_byArn.ContainsKey(arn)) throw new ArgumentException($"A key with the alias '{alias}' exists in {account}/{region}.");
        var key = new KmsKeyRecord { KeyId = keyId, Arn = arn, Account = account, Region = region, Alias = alias, Manager = Customer };
        _byArn.Add(arn, key);
        _created.Add(key);
        return key;
    }

    /// <summary>The key a control-API body names: a key id, key ARN or alias ARN of a created key, or an AWS managed
    /// key's ARN; null when it names none of them.</summary>
    public KmsKeyRecord? Find(string keyIdOrArn)
    {
        if (keyIdOrArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            var arn = KmsKeys.ResolveArn(keyIdOrArn, "", "");
            if (_byArn.TryGetValue(arn, out var key)) return key;
            return KmsKeys.IsAwsManaged(arn) ? DefaultKey(KmsKeys.AccountOf(arn)!, KmsKeys.RegionOf(arn)!) : null;
        }
        return _created.FirstOrDefault(k => k.KeyId == keyIdOrArn);
    }

    /// <summary>The AWS managed EBS key of an account and region (every account-region has one).</summary>
    public static KmsKeyRecord DefaultKey(string account, string region)
    {
        var arn = KmsKeys.DefaultKeyArn(account, region);
        return new KmsKeyRecord
        {
            KeyId = arn[(arn.IndexOf(":key/", StringComparison.Ordinal) + 5)..], Arn = arn, Account = account, Region = region,
            Alias = KmsKeys.DefaultEbsAlias, Manager = Aws,
        };
    }

    public void Grant(KmsKeyRecord key, string account)
    {
        if (key.Manager != Customer)
            throw new ArgumentException($"{key.Arn} is an AWS managed key: it cannot be shared with other accounts.");
        if (account == key.Account) throw new ArgumentException($"Account {account} owns {key.Arn}: it needs no grant.");
        key.GrantedAccounts.Add(account);
    }

    public bool Revoke(KmsKeyRecord key, string account) => key.GrantedAccounts.Remove(account);

    /// <summary>May <paramref name="account"/> use the key <paramref name="keyArn"/>?</summary>
    public bool CanUse(string account, string keyArn)
    {
        if (KmsKeys.AccountOf(keyArn) == account) return true;
        return _byArn.TryGetValue(keyArn, out var key) && key.Manager == Customer && key.GrantedAccounts.Contains(account);
    }

    /// <summary>The created keys, in creation order.</summary>
    public IReadOnlyList<KmsKeyRecord> Created => _created;
}
