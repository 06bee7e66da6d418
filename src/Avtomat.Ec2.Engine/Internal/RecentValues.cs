using System.Collections.Generic;
using System.Linq;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>The last <see cref="Capacity"/> values of something measured, and their median (robust to the odd outlier
/// a noisy duration is). Not thread-safe: the owner locks.</summary>
internal sealed class RecentValues
{
    public const int Capacity = 256;

    private readonly Queue<double> _values = new();

    public void Add(double value)
    {
        if (_values.Count == Capacity) _values.Dequeue();
        _values.Enqueue(value);
    }

    /// <summary>The median, or null when nothing was measured.</summary>
    public double? Median()
    {
        if (_values.Count == 0) return null;
        var sorted = _values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }
}
