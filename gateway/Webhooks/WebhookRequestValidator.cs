using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Checks the optional <c>webhook</c> of <c>POST /v1/jobs</c> (<see cref="WebhookRequest"/>, a shape
/// the job core owns) and turns it into the <see cref="JobWebhook"/> stored with the job: the URL
/// against <see cref="WebhookTargetPolicy"/>, the event types against the known ones.
/// </summary>
public sealed class WebhookRequestValidator(WebhookTargetPolicy policy, IOptionsMonitor<WebhookOptions> options) : IWebhookRequestValidator
{
    /// <summary>The event types a webhook gets when it names none: the job's end, whichever it is.</summary>
    public static readonly IReadOnlyList<string> DefaultEvents =
        [JobEventTypes.Completed, JobEventTypes.Failed, JobEventTypes.Cancelled, JobEventTypes.TimedOut, JobEventTypes.Expired];

    /// <summary>Every event type a webhook may ask for.</summary>
    public static readonly IReadOnlyList<string> KnownEvents =
        [JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Progress, JobEventTypes.Token, JobEventTypes.Chunk, .. DefaultEvents];

    /// <inheritdoc/>
    public async Task<(JobWebhook? Webhook, Dictionary<string, string[]> Errors)> ValidateAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var events = ValidateEvents(request.Events, errors);
        var outbox = options.CurrentValue.Outbox;
        var url = request.Url;
        Uri? target = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            errors["webhook.url"] = ["'webhook.url' is required: an absolute http or https URL."];
        }
        else if (url.Length > WebhookOptions.MaxUrlLength)
        {
            errors["webhook.url"] = [$"'webhook.url' may be at most {WebhookOptions.MaxUrlLength} characters; got {url.Length}."];
        }
        else if (!Uri.TryCreate(url, UriKind.Absolute, out target) || target.IsFile || target.IsUnc || string.IsNullOrEmpty(target.Host))
        {
            errors["webhook.url"] = ["'webhook.url' must be an absolute http or https URL."];
        }
        else if (target.AbsoluteUri.Length > WebhookOptions.MaxUrlLength)
        {
            errors["webhook.url"] = [$"'webhook.url' may be at most {WebhookOptions.MaxUrlLength} characters once normalised; got {target.AbsoluteUri.Length}."];
        }
        else if (await policy.CheckAsync(target, cancellationToken) is { } refused)
        {
            errors["webhook.url"] = [$"'webhook.url' is not an allowed webhook target: {refused}"];
        }

        return errors.Count > 0 || target is null || events is null
            ? (null, errors)
            : (new JobWebhook(target.AbsoluteUri, events, outbox), errors);
    }

    private static List<string>? ValidateEvents(JsonElement? requested, Dictionary<string, string[]> errors)
    {
        const string Expected = "'webhook.events' must be \"all\" or a non-empty array of event types";
        var known = string.Join(", ", KnownEvents);
        if (requested is not { } events || events.ValueKind == JsonValueKind.Null)
        {
            return [.. DefaultEvents];
        }

        if (events.ValueKind == JsonValueKind.String)
        {
            if (events.GetString() == JobWebhook.All)
            {
                return [JobWebhook.All];
            }

            errors["webhook.events"] = [$"{Expected} ({known})."];
            return null;
        }

        if (events.ValueKind != JsonValueKind.Array || events.GetArrayLength() == 0)
        {
            errors["webhook.events"] = [$"{Expected} ({known})."];
            return null;
        }

        var chosen = new List<string>();
        foreach (var item in events.EnumerateArray())
        {
            var type = item.ValueKind == JsonValueKind.String ? item.GetString()! : null;
            if (type == JobWebhook.All)
            {
                if (events.GetArrayLength() == 1)
                {
                    return [JobWebhook.All];
                }

                errors["webhook.events"] = [$"\"all\" cannot be combined with other entries; {Expected} ({known})."];
                return null;
            }

            if (type is null || !KnownEvents.Contains(type))
            {
                var shown = type is null ? item.ValueKind.ToString().ToLowerInvariant() : $"'{(type.Length > 32 ? type[..32] + "…" : type)}'";
                errors["webhook.events"] = [$"Unknown event type {shown}; {Expected} ({known})."];
                return null;
            }

            if (!chosen.Contains(type))
            {
                chosen.Add(type);
            }
        }

        return chosen;
    }
}
