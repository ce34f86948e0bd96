using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>A record's field updates as either strings or Redis values, without copying the list.</summary>
internal readonly struct JobFieldUpdates
{
    private readonly IReadOnlyList<KeyValuePair<string, string>>? _strings;
    private readonly IReadOnlyList<KeyValuePair<string, RedisValue>>? _values;

    private JobFieldUpdates(IReadOnlyList<KeyValuePair<string, string>>? strings, IReadOnlyList<KeyValuePair<string, RedisValue>>? values)
    {
        _strings = strings;
        _values = values;
    }

    public int Count => _strings?.Count ?? _values?.Count ?? 0;

    public static JobFieldUpdates Of(IReadOnlyList<KeyValuePair<string, string>> strings) => new(strings, null);

    public static JobFieldUpdates Of(IReadOnlyList<KeyValuePair<string, RedisValue>> values) => new(null, values);

    public void CopyTo(RedisValue[] args, int at)
    {
        if (_strings is not null)
        {
            foreach (var (name, value) in _strings)
            {
                args[at++] = name;
                args[at++] = value;
            }
        }
        else if (_values is not null)
        {
            foreach (var (name, value) in _values)
            {
                args[at++] = name;
                args[at++] = value;
            }
        }
    }
}
