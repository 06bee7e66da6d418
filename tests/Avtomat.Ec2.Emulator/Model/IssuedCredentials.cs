using System.Security.Cryptography;
using System.Text;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Temporary credentials STS issued for a role (AssumeRole, AssumeRoleWithWebIdentity) or the SSO portal
/// (GetRoleCredentials): the key acts in <see cref="Account"/> until <see cref="Expiration"/>, and only with its own
/// session token.</summary>
/// <param name="RoleArn">arn:aws:iam::ACCOUNT:role/NAME (for SSO: the permission set's role).</param>
/// <param name="SessionName">RoleSessionName (for SSO: the user's name).</param>
/// <param name="Chained">Issued to a caller who signed with issued credentials (role chaining: at most one hour).</param>
internal sealed record IssuedCredential(string AccessKeyId, string SecretAccessKey, string SessionToken, string Account,
    string RoleArn, string RoleName, string SessionName, string AssumedRoleId, DateTimeOffset Expiration, bool Chained)
{
    public string AssumedRoleArn => $"arn:aws:sts::{Account}:assumed-role/{RoleName}/{SessionName}";
}

/// <summary>Every credential the emulator issued, by access key id. Kept across <c>/_emulator/reset</c> (like the
/// access key → account map): a credentials object a client cached must keep acting in the same account.</summary>
internal sealed class IssuedCredentials
{
    private const string KeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private readonly Dictionary<string, IssuedCredential> _byKey = new(StringComparer.Ordinal);

    public IssuedCredential? Find(string? accessKeyId) =>
        accessKeyId is not null && _byKey.TryGetValue(accessKeyId, out var issued) ? issued : null;

    /// <summary>New credentials for <paramref name="roleName"/> in <paramref name="account"/>: an ASIA key id of 20
    /// characters, a 40-character secret and a session token, random (not from the seeded Random, so issuing
    /// credentials never changes the sampled durations and faults).</summary>
    public IssuedCredential Issue(string account, string roleArn, string roleName, string sessionName, DateTimeOffset expiration, bool chained)
    {
        string key;
        do key = "ASIA" + RandomText(KeyAlphabet, 16);
        while (_byKey.ContainsKey(key));
        var issued = new IssuedCredential(key, Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)),
            "IQoJb3JpZ2luX2VjE" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(186)), account, roleArn, roleName,
            sessionName, RoleId(roleArn) + ":" + sessionName, expiration, chained);
        _byKey[key] = issued;
        return issued;
    }

    /// <summary>A role's unique id as IAM shows it (AROA + 17 characters), stable for the ARN.</summary>
    public static string RoleId(string roleArn)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(roleArn));
        var sb = new StringBuilder("AROA");
        for (var i = 0; i < 17; i++) sb.Append(KeyAlphabet[hash[i] % KeyAlphabet.Length]);
        return sb.ToString();
    }

    private static string RandomText(string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return new string(chars);
    }
}
