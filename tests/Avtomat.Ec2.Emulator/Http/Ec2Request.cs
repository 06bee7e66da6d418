using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>The flat Query-protocol parameters of one request (form body plus query string), with helpers for
/// EC2's list encodings: <c>Key.N</c>, and structures <c>Filter.N.Name</c> / <c>Filter.N.Value.M</c>.</summary>
internal sealed partial class Ec2Request
{
    private readonly Dictionary<string, string> _values;

    public Ec2Request(Dictionary<string, string> values) => _values = values;

    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>Form body (POST) plus query string; the body wins on duplicates. Any other body is left unread.</summary>
    public static async Task<Ec2Request> ReadAsync(HttpRequest request)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query) values[key] = value.ToString();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (key, value) in form) values[key] = value.ToString();
        }
        return new Ec2Request(values);
    }

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>A non-empty value, or null when absent or empty.</summary>
    public string? GetNonEmpty(string name) => string.IsNullOrEmpty(Get(name)) ? null : Get(name);

    public string Require(string name) => GetNonEmpty(name) ?? throw Ec2Error.MissingParameter(name);

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>True when any parameter is the list/structure <paramref name="prefix"/> (<c>prefix.1…</c> or a bare <c>prefix=</c>).</summary>
    public bool HasAny(string prefix) =>
        _values.ContainsKey(prefix) || _values.Keys.Any(k => k.StartsWith(prefix + ".", StringComparison.Ordinal));

    public bool GetBool(string name, bool fallback = false)
    {
        var v = GetNonEmpty(name);
        if (v is null) return fallback;
        if (bool.TryParse(v, out var b)) return b;
        throw Ec2Error.InvalidValue(name, v, "Expecting true or false.");
    }

    public int? GetInt(string name)
    {
        var v = GetNonEmpty(name);
        if (v is null) return null;
        if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
        throw Ec2Error.InvalidValue(name, v, "Expecting an integer.");
    }

    /// <summary>Values of <c>prefix.1</c>, <c>prefix.2</c>, … in index order (a bare <c>prefix=</c> is an empty list).</summary>
    public List<string> GetList(string prefix)
    {
        var items = new SortedDictionary<int, string>();
        foreach (var (key, value) in _values)
        {
            if (key.Length > prefix.Length + 1 && key.StartsWith(prefix + ".", StringComparison.Ordinal)
                && int.TryParse(key.AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                items[n] = value;
        }
        return items.Values.ToList();
    }

    /// <summary>Structures <c>prefix.N.member…</c> in index order, each as its own request view with <c>prefix.N.</c> stripped.</summary>
    public List<Ec2Request> GetStructList(string prefix)
    {
        var groups = new SortedDictionary<int, Dictionary<string, string>>();
        foreach (var (key, value) in _values)
        {
            if (!key.StartsWith(prefix + ".", StringComparison.Ordinal)) continue;
            var rest = key.AsSpan(prefix.Length + 1);
            var dot = rest.IndexOf('.');
            if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) continue;
            if (!groups.TryGetValue(n, out var g)) groups[n] = g = new Dictionary<string, string>(StringComparer.Ordinal);
            g[rest[(dot + 1)..].ToString()] = value;
        }
        return groups.Values.Select(g => new Ec2Request(g)).ToList();
    }

    /// <summary><c>Filter.N.Name</c> + <c>Filter.N.Value.M</c>.</summary>
    public List<RequestFilter> GetFilters()
    {
        var filters = new List<RequestFilter>();
        foreach (var f in GetStructList("Filter"))
        {
            var name = f.GetNonEmpty("Name") ?? throw Ec2Error.MissingParameter("Filter.Name");
            filters.Add(new RequestFilter(name, f.GetList("Value")));
        }
        return filters;
    }

    /// <summary>Tags of the list <paramref name="prefix"/> (<c>Tag.N.Key</c>/<c>Tag.N.Value</c>); a missing value is empty.</summary>
    public List<KeyValuePair<string, string>> GetTags(string prefix = "Tag") =>
        GetStructList(prefix).Select(t => new KeyValuePair<string, string>(
            t.Get("Key") ?? throw Ec2Error.MissingParameter("Tag.Key"), t.Get("Value") ?? "")).ToList();

    /// <summary><c>TagSpecification.N.ResourceType</c> + tags; every ResourceType must be <paramref name="resourceType"/>.</summary>
    public List<KeyValuePair<string, string>> GetTagSpecifications(string resourceType)
    {
        var tags = new List<KeyValuePair<string, string>>();
        foreach (var spec in GetStructList("TagSpecification"))
        {
            var type = spec.GetNonEmpty("ResourceType");
            if (type is null)
                throw Ec2Error.InvalidParameterValue("Tag specification resource type must have a value");
            if (type != resourceType)
                throw Ec2Error.InvalidParameterValue($"'{type}' is not a valid taggable resource type for this operation.");
            tags.AddRange(spec.GetTags());
        }
        return tags;
    }
}

internal sealed record RequestFilter(string Name, List<string> Values);
