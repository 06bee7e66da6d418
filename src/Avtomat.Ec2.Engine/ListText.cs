using System.Collections.Generic;
using System.Linq;

namespace Avtomat.Ec2.Engine;

/// <summary>How the module lists ids in a message: the first few, then how many more ("a, b and 3 more"), so a warning
/// about thousands of snapshots stays readable.</summary>
public static class ListText
{
    public static string Of(IReadOnlyCollection<string> items, int shown) =>
        string.Join(", ", items.Take(shown)) + (items.Count > shown ? $" and {items.Count - shown} more" : "");
}
