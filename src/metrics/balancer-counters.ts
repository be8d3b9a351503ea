// Counters for one load balancer listener, after the NLB's CloudWatch
// metrics (NewFlowCount, ProcessedBytes, *TLSNegotiationErrorCount,
// TCP_Target_Reset_Count, ...). Plain fields: the flow path only
// increments them.

export class BalancerCounters {
  newFlows = 0;
  /** Bytes from clients to targets and back, counted as flows end. */
  processedBytes = 0;
  clientTlsNegotiationErrors = 0;
  targetTlsNegotiationErrors = 0;
  /** Flows a target closed with an error (a reset). */
  targetResets = 0;
  /** Flows that found no target to connect to. */
  targetConnectErrors = 0;
  proxyHeadersSent = 0;
}
