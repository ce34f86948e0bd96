using System.Net;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace InferenceGateway.Core.Queue;

/// <summary>
/// SQS failed one entry of a batch call (a <see cref="BatchResultErrorEntry"/>) while the call
/// itself succeeded: for example <c>ReceiptHandleIsInvalid</c> when the message was received again
/// by someone else. <see cref="AmazonServiceException.ErrorCode"/> is the entry's code.
/// </summary>
public sealed class SqsBatchEntryException : AmazonSQSException
{
    /// <summary>An entry of <paramref name="operation"/> that SQS reported as failed.</summary>
    public SqsBatchEntryException(string operation, BatchResultErrorEntry entry)
        : base(
            $"{operation} failed for this entry: {entry.Code}: {entry.Message}",
            entry.SenderFault == true ? ErrorType.Sender : ErrorType.Receiver,
            entry.Code,
            requestId: null,
            HttpStatusCode.OK)
    {
        SenderFault = entry.SenderFault == true;
    }

    /// <summary>True when SQS blamed the request (an invalid receipt handle or value), not itself.</summary>
    public bool SenderFault { get; }
}
