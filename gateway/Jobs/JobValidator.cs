using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Problems;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// Checks the input of a job for one kind of model (<see cref="ModelKinds"/>). The feature that owns
/// a kind registers one (chat registers text generation), so the job core holds no kind's rules;
/// a kind with none registered takes the embeddings input, <c>texts</c>.
/// </summary>
public interface IJobInputValidator
{
    /// <summary>The model kind this validator checks inputs for.</summary>
    string Kind { get; }

    /// <summary>
    /// Adds the problems of <paramref name="input"/> for <paramref name="model"/> to
    /// <paramref name="errors"/>, keyed under <paramref name="inputPath"/> as <see cref="JobValidator.Validate"/> keys them.
    /// </summary>
    void Validate(JobInput? input, CatalogModel model, Dictionary<string, string[]> errors, string inputPath);
}

/// <summary>
/// What every way of submitting a job checks first: the model against the catalog, and its input
/// by the model's kind (<see cref="IJobInputValidator"/>).
/// </summary>
public sealed class JobValidator(IEnumerable<IJobInputValidator> kinds)
{
    private readonly Dictionary<string, IJobInputValidator> _kinds = kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);

    /// <summary>
    /// Checks a job's model and input against the catalog. Keys of the returned map name the fields
    /// as the caller sent them: <paramref name="inputPath"/> is where the input sits in the body
    /// (<c>input</c> for <c>POST /v1/jobs</c>, empty when the body is the input itself).
    /// </summary>
    public Dictionary<string, string[]> Validate(string? model, JobInput? input, IReadOnlyDictionary<string, CatalogModel> served, string inputPath = "input")
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        CatalogModel? limits = null;
        if (string.IsNullOrWhiteSpace(model))
        {
            errors["model"] = ["'model' is required."];
        }
        else if (!served.TryGetValue(model, out limits))
        {
            errors["model"] = [$"Unknown model '{Problem.Truncate(model)}'. Served: {string.Join(", ", served.Keys)}."];
        }

        if (limits is not null && _kinds.TryGetValue(limits.Kind, out var kind))
        {
            kind.Validate(input, limits, errors, inputPath);
            return errors;
        }

        var textsKey = inputPath.Length == 0 ? "texts" : inputPath + ".texts";
        var texts = input?.Texts;
        if (texts is null || texts.Count == 0)
        {
            errors[textsKey] = [$"'{textsKey}' must be a non-empty array of strings."];
        }
        else if (limits is not null)
        {
            var problems = new List<string>();
            if (texts.Count > limits.MaxTexts)
            {
                problems.Add($"At most {limits.MaxTexts} texts per job; got {texts.Count}.");
            }

            for (var i = 0; i < texts.Count && problems.Count < 5; i++)
            {
                if (string.IsNullOrWhiteSpace(texts[i]))
                {
                    problems.Add($"Text {i} is empty.");
                }
                else if (texts[i].Length > limits.MaxTextLength)
                {
                    problems.Add($"Text {i} has {texts[i].Length} characters; the limit is {limits.MaxTextLength}.");
                }
                else if (texts[i].Contains('\0', StringComparison.Ordinal))
                {
                    problems.Add($"Text {i} contains a NUL character.");
                }
            }

            if (problems.Count > 0)
            {
                errors[textsKey] = [.. problems];
            }
        }

        return errors;
    }
}
