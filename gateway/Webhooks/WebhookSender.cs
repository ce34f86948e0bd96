using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>One event to deliver: its stable <c>webhook-id</c> and the body, the same on every attempt.</summary>
public sealed record WebhookMessage(string JobId, long Seq, string EventType, Uri Url, string WebhookId, byte[] Body);

/// <summary>How a delivery ended: the last attempt's outcome, and whether it gave up after the last retryable failure.</summary>
public readonly record struct WebhookDeliveryResult(string Outcome, bool GaveUp);

/// <summary>
/// Delivers one event: POSTs the body signed afresh on each attempt (new <c>webhook-timestamp</c>,
/// the same <c>webhook-id</c>), retried through a Polly pipeline with exponential backoff and jitter
/// on network errors, timeouts, 408, 429 and 5xx (honouring <c>Retry-After</c> up to a cap); a 3xx
/// is not followed and, like any other 4xx, not retried; a target the policy refuses at connect
/// time (or, before each attempt, by the URL itself: a pooled connection skips the connect step)
/// is not retried either. Every attempt is written to the job's delivery log. A concurrency slot is
/// held only during an attempt, not while waiting for the next one.
/// </summary>
public sealed class WebhookSender(
    IHttpClientFactory clients,
    WebhookTargetPolicy policy,
    WebhookDeliveryLog log,
    WebhookMetrics metrics,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookSender> logger)
{
    public const string ClientName = "webhooks";

    /// <summary>Delivers <paramref name="message"/>; returns the last attempt's outcome. Throws only when <paramref name="cancellationToken"/> is cancelled or the log cannot be written.</summary>
    /// <param name="message">The event to deliver.</param>
    /// <param name="signingSecrets">The secrets to sign with, asked before each attempt (a rotation between attempts applies at once).</param>
    /// <param name="slots">Taken for each attempt and given back before the wait for the next one; null: no limit.</param>
    /// <param name="cancellationToken">Stops the delivery (shutdown); nothing more is logged.</param>
    public async Task<WebhookDeliveryResult> DeliverAsync(WebhookMessage message, Func<Task<IReadOnlyList<string>>> signingSecrets, SemaphoreSlim? slots, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var attempt = 0;
        var gaveUp = false;
        var builder = new ResiliencePipelineBuilder<AttemptResult> { TimeProvider = time };
        if (settings.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Retry: true }),
                MaxRetryAttempts = settings.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.BaseDelay,
                MaxDelay = settings.MaxDelay,
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
            });
        }

        var pipeline = builder.Build();
        var result = await pipeline.ExecuteAsync(
            async token =>
            {
                attempt++;
                AttemptResult outcome;
                if (slots is not null)
                {
                    await slots.WaitAsync(token);
                }

                try
                {
                    outcome = await AttemptAsync(message, await signingSecrets(), settings, token);
                }
                finally
                {
                    slots?.Release();
                }

                var final = outcome.Retry && attempt >= settings.MaxAttempts;
                gaveUp = final;
                var recorded = outcome.Retry ? (final ? WebhookOutcomes.Failed : WebhookOutcomes.Retrying) : outcome.Outcome;
                var error = final ? $"{outcome.Error}; gave up after {attempt} attempts" : outcome.Error;
                var entry = new WebhookDelivery(message.WebhookId, message.Seq, message.EventType, attempt, outcome.At, outcome.StatusCode, outcome.DurationMs, recorded, error);
                await WebhookRedisRetry.RunAsync(_ => log.AppendAsync(message.JobId, entry), token);
                metrics.Attempted(recorded);
                WebhookLog.Attempted(logger, message.WebhookId, attempt, recorded, outcome.StatusCode, error);
                return outcome with { Outcome = recorded };
            },
            cancellationToken);
        return new WebhookDeliveryResult(result.Outcome, gaveUp);
    }

    /// <summary>Logs <paramref name="message"/> <c>failed</c> without sending it (attempt 0), for <paramref name="reason"/>.</summary>
    public async Task<WebhookDeliveryResult> FailUnsentAsync(WebhookMessage message, string reason)
    {
        var entry = new WebhookDelivery(message.WebhookId, message.Seq, message.EventType, 0, time.GetUtcNow(), null, 0, WebhookOutcomes.Failed, reason);
        await WebhookRedisRetry.RunAsync(_ => log.AppendAsync(message.JobId, entry), CancellationToken.None);
        metrics.Attempted(WebhookOutcomes.Failed);
        WebhookLog.Attempted(logger, message.WebhookId, 0, WebhookOutcomes.Failed, null, reason);
        return new WebhookDeliveryResult(WebhookOutcomes.Failed, false);
    }

    private async Task<AttemptResult> AttemptAsync(WebhookMessage message, IReadOnlyList<string> secrets, WebhookOptions settings, CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        if (policy.CheckUrl(message.Url) is { } refusedUrl)
        {
            // A pooled connection does not pass the connect-time check again: the URL is checked here.
            return new AttemptResult(WebhookOutcomes.Refused, false, null, at, null, 0, refusedUrl);
        }

        var timestamp = at.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, message.Url) { Content = new ByteArrayContent(message.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", message.WebhookId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSigner.Sign(secrets, message.WebhookId, timestamp, message.Body));

        using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attemptTimeout.CancelAfter(settings.AttemptTimeout);
        var started = Stopwatch.GetTimestamp();
        long Elapsed() => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
            {
                return new AttemptResult(WebhookOutcomes.Delivered, false, null, at, status, Elapsed(), null);
            }

            if (status is >= 300 and < 400)
            {
                var location = response.Headers.Location is { } l ? $" (Location: {Shorten(l.OriginalString)})" : string.Empty;
                return new AttemptResult(WebhookOutcomes.Failed, false, null, at, status, Elapsed(), $"redirect not followed{location}");
            }

            if (status is 408 or 429 or >= 500)
            {
                return new AttemptResult(WebhookOutcomes.Retrying, true, RetryAfter(response, settings), at, status, Elapsed(), $"the receiver answered {status}");
            }

            return new AttemptResult(WebhookOutcomes.Failed, false, null, at, status, Elapsed(), $"the receiver answered {status}; not retried");
        }
        catch (HttpRequestException ex) when (RefusalIn(ex) is { } refused)
        {
            return new AttemptResult(WebhookOutcomes.Refused, false, null, at, null, Elapsed(), refused.Message);
        }
        catch (HttpRequestException ex)
        {
            return new AttemptResult(WebhookOutcomes.Retrying, true, null, at, null, Elapsed(), Describe(ex));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(WebhookOutcomes.Retrying, true, null, at, null, Elapsed(), $"no answer within {settings.AttemptTimeout.TotalSeconds:0.###} s");
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response, WebhookOptions settings)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
        if (wait is not { } value)
        {
            return null;
        }

        return value < TimeSpan.Zero ? TimeSpan.Zero : value > settings.MaxRetryAfter ? settings.MaxRetryAfter : value;
    }

    private static WebhookTargetRefusedException? RefusalIn(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is WebhookTargetRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }

    private static string Describe(HttpRequestException exception) =>
        exception.InnerException is SocketException socket ? $"{exception.Message} ({socket.SocketErrorCode})" : exception.Message;

    private static string Shorten(string value) => value.Length <= 200 ? value : value[..200] + "…";

    private sealed record AttemptResult(string Outcome, bool Retry, TimeSpan? RetryAfter, DateTimeOffset At, int? StatusCode, long DurationMs, string? Error);

    /// <summary>
    /// The webhook client's connect step: resolves the host itself, refuses when any address is
    /// not allowed by <paramref name="policy"/>, and connects only to an address it vetted.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(WebhookTargetPolicy policy, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        if (policy.CheckHost(host) is { } hostRefused)
        {
            throw new WebhookTargetRefusedException(hostRefused);
        }

        if (!IPAddress.TryParse(host.Trim('[', ']'), out _) && WebhookTargetPolicy.CheckHostName(host) is { } badName)
        {
            throw new WebhookTargetRefusedException(badName);
        }

        IPAddress[] addresses;
        try
        {
            addresses = await WebhookTargetPolicy.ResolveAsync(host, cancellationToken);
        }
        catch (ArgumentException)
        {
            throw new WebhookTargetRefusedException($"The host '{host}' is not a name that can be resolved.");
        }

        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        if (!IPAddress.TryParse(host.Trim('[', ']'), out _) && policy.CheckResolved(host, addresses) is { } refused)
        {
            throw new WebhookTargetRefusedException(refused);
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}

/// <summary>The webhook policy refused the target when connecting; nothing was sent.</summary>
public sealed class WebhookTargetRefusedException(string message) : Exception(message);
