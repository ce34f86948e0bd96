using InferenceGateway.Inference.Embeddings;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// Every model, by name: section <c>Models</c>, one <c>Models:&lt;name&gt;</c> each (what it is:
/// <see cref="ModelOptions"/>; where it runs: <see cref="ModelOptions.Placement"/>). The gateway, its
/// edge and the workers all bind this one class (<see cref="ModelCatalogExtensions.AddModelCatalog"/>).
/// all-minilm-l6-v2 is there, on workers and at the edge, unless disabled.
/// </summary>
public sealed class ModelCatalogOptions
{
    public const string Section = "Models";

    public Dictionary<string, ModelOptions> Models { get; } = new(StringComparer.Ordinal)
    {
        [MiniLmEmbedder.ModelName] = new ModelOptions
        {
            Source = ModelOptions.EmbeddedMiniLm,
            Dimensions = MiniLmEmbedder.Dimensions,
            MaxSequenceLength = 256,
            Placement = new ModelPlacement { Worker = true, Edge = true },
        },
    };

    /// <summary>Settings of the schemas this one replaced, found when binding: each is a startup error naming its new key.</summary>
    public List<string> RetiredSettings { get; } = [];

    /// <summary>The enabled models, by name, in name order.</summary>
    public IEnumerable<KeyValuePair<string, ModelOptions>> Enabled =>
        Models.Where(m => m.Value.Enabled).OrderBy(m => m.Key, StringComparer.Ordinal);

    /// <summary>The enabled models placed on <paramref name="where"/>, by name, in name order.</summary>
    public IEnumerable<KeyValuePair<string, ModelOptions>> On(ModelRunsOn where) =>
        Enabled.Where(m => m.Value.Placement.On(where));

    /// <summary>A catalog of only the enabled models placed on <paramref name="where"/>: what a <see cref="ModelHost"/> there serves.</summary>
    public ModelCatalogOptions RunningOn(ModelRunsOn where)
    {
        var catalog = new ModelCatalogOptions();
        catalog.Models.Clear();
        foreach (var (name, model) in On(where))
        {
            catalog.Models[name] = model;
        }

        return catalog;
    }
}
