using System;

namespace Avtomat.Ec2.Engine;

/// <summary>A client source the caller owns and disposes (disposing its SDK clients).</summary>
public interface IEc2ClientSourceLifetime : IEc2ClientSource, IDisposable
{
}
