using System.Text;
using System.Text.RegularExpressions;
using Avtomat.Ec2.Emulator.Http;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>Shared Describe* machinery: filters with wildcards, tag checks, stable paging with opaque tokens.</summary>
internal static class Query
{
    /// <summary>Values OR'ed within a filter, filters AND'ed. <paramref name="valuesOf"/> gives an item's values for a filter name;
    /// <paramref name="tagsOf"/>, when given, answers tag:&lt;key&gt; filters from the item's tags without building a list per
    /// item (a DescribeSnapshots by provenance tag scans every snapshot in the region).</summary>
    public static IEnumerable<T> ApplyFilters<T>(IEnumerable<T> items, IReadOnlyList<RequestFilter> filters,
        Func<T, string, IEnumerable<string?>> valuesOf, Func<T, IReadOnlyDictionary<string, string>>? tagsOf = null)
    {
        if (filters.Count == 0) return items;
        // Values without '*' or '?' match by plain equality (a set, so a filter of 200 snapshot ids costs one lookup per
        // item); only the others are compiled to patterns. Same results as matching every value as a pattern.
        var compiled = filters.Select(f => new CompiledFilter(
            f.Name,
            tagsOf is not null && f.Name.StartsWith("tag:", StringComparison.Ordinal) ? f.Name[4..] : null,
            f.Values.Where(v => !IsWildcard(v)).ToHashSet(StringComparer.Ordinal),
            f.Values.Where(IsWildcard).Select(Wildcard).ToList())).ToList();
        return items.Where(item => compiled.All(f => f.TagKey is not null
            ? tagsOf!(item).TryGetValue(f.TagKey, out var tag) && f.Matches(tag)
            : valuesOf(item, f.Name).Any(f.Matches)));
    }

    private sealed record CompiledFilter(string Name, string? TagKey, HashSet<string> Exact, List<Regex> Patterns)
    {
        public bool Matches(string? value) => value is not null && (Exact.Contains(value) || Patterns.Any(p => p.IsMatch(value)));
    }

    /// <summary>True when a filter value uses EC2's wildcards ('*' or '?').</summary>
    public static bool IsWildcard(string value) => value.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>Throws InvalidParameterValue "The filter 'x' is invalid" for names not in <paramref name="known"/> (tag:&lt;key&gt; always allowed).</summary>
    public static void ValidateFilterNames(IEnumerable<RequestFilter> filters, IReadOnlySet<string> known)
    {
        foreach (var f in filters)
            if (!known.Contains(f.Name) && !(f.Name.StartsWith("tag:", StringComparison.Ordinal) && f.Name.Length > 4))
                throw Ec2Error.InvalidFilter(f.Name);
    }

    /// <summary>Values for the tag filters (tag:&lt;key&gt;, tag-key, tag-value); null when the name is not a tag filter.</summary>
    public static IEnumerable<string?>? TagFilterValues(IReadOnlyDictionary<string, string> tags, string name)
    {
        if (name.StartsWith("tag:", StringComparison.Ordinal))
            return tags.TryGetValue(name[4..], out var v) ? [v] : [];
        return name switch
        {
            "tag-key" => tags.Keys,
            "tag-value" => tags.Values,
            _ => null,
        };
    }

    public static string Bool(bool b) => b ? "true" : "false";

    /// <summary>EC2 filter values support '*' (any run) and '?' (any one character); matching is case-sensitive.</summary>
    private static Regex Wildcard(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>One page of <paramref name="ordered"/> (stable creation order). The token is opaque to clients:
    /// base64 of "kind:lastSequence", so a page survives resources appearing or disappearing between calls.</summary>
    public static (List<T> Page, string? NextToken) Page<T>(IReadOnlyList<T> ordered, Func<T, long> sequence,
        int? maxResults, string? nextToken, string kind)
    {
        var start = 0;
        if (nextToken is not null)
        {
            var after = DecodeToken(nextToken, kind);
            start = ordered.Count;
            for (var i = 0; i < ordered.Count; i++)
                if (sequence(ordered[i]) > after) { start = i; break; }
        }
        var size = maxResults ?? int.MaxValue;
        var page = ordered.Skip(start).Take(size).ToList();
        var more = start + page.Count < ordered.Count;
        return (page, more && page.Count > 0 ? EncodeToken(kind, sequence(page[^1])) : null);
    }

    private static string EncodeToken(string kind, long sequence) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{kind}:{sequence}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long DecodeToken(string token, string kind)
    {
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            var parts = text.Split(':');
            if (parts.Length == 2 && parts[0] == kind && long.TryParse(parts[1], out var seq)) return seq;
        }
        catch (FormatException) { }
        throw Ec2Error.InvalidPaginationToken(token);
    }

    /// <summary>MaxResults of a Describe call: absent or within [min, max].</summary>
    public static int? MaxResults(Ec2Request request, int min, int max)
    {
        var value = request.GetInt("MaxResults");
        if (value is not null && (value < min || value > max))
            throw Ec2Error.InvalidParameterValue(
                $"Value ( {value} ) for parameter maxResults is invalid. Expecting a value between {min} and {max}.");
        return value;
    }

    /// <summary>EC2's tag rules: non-empty key ≤128, value ≤256, no 'aws:' prefix, at most 50 per resource.</summary>
    public static void ValidateTags(IReadOnlyCollection<KeyValuePair<string, string>> tags)
    {
        foreach (var (key, value) in tags)
        {
            if (key.Length == 0) throw Ec2Error.InvalidValue("key", key, "Tag keys must not be empty.");
            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                throw Ec2Error.InvalidParameterValue($"Value ( {key} ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use");
            if (key.Length > 128) throw Ec2Error.InvalidValue("key", key, "Length exceeds maximum of 128.");
            if (value.Length > 256) throw Ec2Error.InvalidValue("value", value, "Length exceeds maximum of 256.");
        }
    }

    public static void ApplyTags(Dictionary<string, string> target, IEnumerable<KeyValuePair<string, string>> tags)
    {
        var list = tags.ToList();
        if (target.Keys.Union(list.Select(t => t.Key), StringComparer.Ordinal).Count() > 50)
            throw Ec2Error.BadRequest("TagLimitExceeded", "The maximum number of Tags for this resource has been reached.");
        foreach (var (k, v) in list) target[k] = v;
    }

    public static void ValidateDescription(string? description)
    {
        if (description is { Length: > 255 })
            throw Ec2Error.InvalidParameterValue($"Value ({description}) for parameter description is invalid. It exceeds 255 characters");
    }
}
