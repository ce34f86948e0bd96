namespace InferenceGateway.Worker;

/// <summary>
/// Every log event id of this assembly, in one table so none collides inside a process: Worker owns 4000-4999
/// (core 1000s, inference 2000s, gateway 3000s, worker 4000s), a block of 100 per log class.
/// A test (<c>LogEventIdTests</c>) checks that no two events of the four assemblies share an id.
/// </summary>
internal static class EventIds
{
    // Log (Log.cs)
    public const int ModelLoaded = 4001;
    public const int Polling = 4002;
    public const int ReceiveFailed = 4003;
    public const int PoisonMessage = 4004;
    public const int DeliveryFailed = 4005;
    public const int JobFinished = 4006;
    public const int JobAlreadySettled = 4007;
    public const int InferenceFailed = 4008;
    public const int ProcessingFailed = 4009;
    public const int JobExpired = 4010;
    public const int CancelHeard = 4011;
    public const int Released = 4012;
    public const int Draining = 4013;
    public const int Aborting = 4014;
    public const int Heartbeat = 4015;
    public const int HeartbeatFailed = 4016;
    public const int FailRecordFailed = 4017;
    public const int DeadLetterMonitorFailed = 4018;
    public const int DeadLettered = 4019;
    public const int CancelSubscribeFailed = 4020;
    public const int RegistrationFailed = 4021;
    public const int ProgressLost = 4022;
    public const int JobCompleted = 4023;
    public const int JobSummary = 4024;
    public const int JobRebuilt = 4025;
    public const int JobNotRebuilt = 4026;
    public const int JobLeased = 4027;
    public const int RunFenced = 4028;
    public const int LeaseRenewFailed = 4029;
    public const int CancelRead = 4030;
    public const int DuplicateDeleted = 4031;

    // Log (Streaming/JobStreamWriter.cs)
    public const int StreamAppendRetry = 4101;
    public const int StreamBroken = 4102;
    public const int StreamLogClosed = 4103;

    // ClaimCheckLog (Queue/ClaimCheckLog.cs)
    public const int InputMissing = 4701;
}
