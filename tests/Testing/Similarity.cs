namespace InferenceGateway.Tests.Infrastructure;

/// <summary>Comparing embeddings: two runs of one model agree to a cosine of 0.999 or better, not to the bit.</summary>
public static class Similarity
{
    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}
